return {
  name = "probe",
  fields = {
    { config = { type = "record", fields = {
      { greeting = { type = "string", default = "hi" } },
    } } },
  },
}
