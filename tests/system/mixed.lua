-- Mixed traffic for wrk: one create for every three reads (a list and two pages of one).
local n = 0
request = function()
  n = n + 1
  if n % 4 == 0 then
    return wrk.format("POST", "/cases")
  elseif n % 4 == 1 then
    return wrk.format("GET", "/cases?page_size=5")
  end
  return wrk.format("GET", "/cases?page_size=1&status=submitted")
end
