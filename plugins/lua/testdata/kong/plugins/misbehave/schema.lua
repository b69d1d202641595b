return { name = "misbehave", fields = { { config = { type = "record", fields = {} } } } }
