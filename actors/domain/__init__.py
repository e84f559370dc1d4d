"""Trading rules every subsystem shares: pure functions and values, no threads, no I/O, no settings.

`rules` (the exchange's rounding and order checks), `pricing` (break-even,
minimum sell price, order sizing), `clock` (the one wall clock). Import the
modules themselves: this file imports nothing, so `actors.messages` and the
domain can depend on each other's names without an import cycle.
"""
