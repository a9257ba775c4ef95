-- KEYS: stock, buyers, pending, recon.  ARGV: observed stock, new stock, nb, np, the nb observed
-- buyer pairs, the np observed pending order ids, then the new buyer pairs. Compare-and-set repair
-- by the reconciliation: applies only if stock, buyers and pending are exactly as observed (a sale
-- and a release in between leave the stock and the counts unchanged but not the buyers).
local stock = redis.call('GET', KEYS[1])
if not stock or stock ~= ARGV[1] then return 0 end
local nb, np = tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('HLEN', KEYS[2]) ~= nb or redis.call('HLEN', KEYS[3]) ~= np then return 0 end
local i = 5
for _ = 1, nb do
  if redis.call('HGET', KEYS[2], ARGV[i]) ~= ARGV[i + 1] then return 0 end
  i = i + 2
end
for _ = 1, np do
  if redis.call('HEXISTS', KEYS[3], ARGV[i]) == 0 then return 0 end
  i = i + 1
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
while i < #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('DEL', KEYS[4])
return 1
