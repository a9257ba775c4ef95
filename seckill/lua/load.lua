-- KEYS: stock, buyers, meta, pending.  ARGV: stock, n meta pairs count, meta pairs..., buyer pairs...
-- Writes the meta always; stock and buyers only when the stock key is missing (first loader wins).
-- Returns 1 when it loaded the stock, 0 when the gate was already loaded.
local npairs = tonumber(ARGV[2])
local i = 3
for _ = 1, npairs do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  i = i + 2
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
while i < #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
