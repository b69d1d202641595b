return {
  name = "reshape",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}
