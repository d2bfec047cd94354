"""The generic ccxt.pro collector for any venue ccxt supports (`kind = "ccxt"`), and its conversions
from ccxt's unified structures to records.

Registered in `monitor.venues` (kind `ccxt`); ccxt.pro is imported only when such a venue is built.
"""
