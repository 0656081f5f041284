"""xlwings Lite: the pipesheet Excel functions.

Paste this into the xlwings Lite editor (main.py) and put pipesheet into requirements.txt (see
requirements.txt next to this file). Every PIPE_ function imported here is registered as an Excel
custom function when the add-in loads the workbook; see docs/excel.md for the list.
"""

from pipesheet.excel import *  # noqa: F403  (registers every PIPE_ function)
