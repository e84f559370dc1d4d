"""One module per `bootstrap.py` command; `bootstrap.py` only parses the command's name and dispatches."""
