return { { name = "things", primary_key = { "id" }, fields = {} } }
