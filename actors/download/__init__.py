"""`bootstrap.py download`: Binance's public data files (data.binance.vision), checked, in the layout backtests read.

plan.py (which files, monthly or daily), checksum.py and layout.py (what may be
kept), fetch.py (HTTP with retries and resume), engine.py (the run), recent.py
(`--recent`, the REST top-up), progress.py (bar or lines), cli.py (the command).
"""
