return { name = "with-daos", fields = { { config = { type = "record", fields = {} } } } }
