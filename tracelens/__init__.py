"""tracelens: why is p90 slow, and what do we fix first?"""

__version__ = "0.1.0"
