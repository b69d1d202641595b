local H = { PRIORITY = 1, VERSION = "1.0.0" }
function H:access(conf)
  if then
end
return H
