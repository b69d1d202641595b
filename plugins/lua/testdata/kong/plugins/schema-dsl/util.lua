local M = {}
function M.mark(conf)
  kong.service.request.set_header("X-Mode", conf.mode)
end
return M
