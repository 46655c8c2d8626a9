"""The contracts every component shares: attribute names, span kinds, columns, prices and DDL."""
