return { name = "classic", fields = { { config = { type = "record", fields = {} } } } }
