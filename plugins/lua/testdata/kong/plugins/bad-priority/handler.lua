return { PRIORITY = "high", VERSION = "1.0.0" }
