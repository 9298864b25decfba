"""Sanity limits shared by the data readers, the file validator and the serving guards."""

# Timestamps (seconds or milliseconds, ``time_unit``) must lie in [0, TIME_LIMIT]: milliseconds
# until the year 33658. Beyond it the time features lose precision, a value of 1e19 or more no
# longer fits int64, and one like 1.7e308 overflows to inf / NaN in training (issue 21).
TIME_LIMIT = 1e15
