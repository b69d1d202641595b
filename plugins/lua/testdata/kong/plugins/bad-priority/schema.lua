return { name = "bad-priority", fields = { { config = { type = "record", fields = {} } } } }
