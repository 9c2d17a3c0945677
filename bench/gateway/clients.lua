-- 65,536 client addresses behind a trusted CDN (the loopback): each
-- request names one in X-Forwarded-For, so the blog's per-IP rules track
-- many keys and none reaches its limit during the run.
request = function()
  local ip = "10.7." .. math.random(0, 255) .. "." .. math.random(0, 255)
  return wrk.format("GET", "/products/42", {["X-Forwarded-For"] = ip, ["Host"] = "shop.example"})
end
