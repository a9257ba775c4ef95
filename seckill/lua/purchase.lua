-- KEYS: stock, buyers, meta, pending.  ARGV: user id, order id, now (epoch ms).
-- Returns {code, n}: n is the stock left after an OK, or the units held for LIMIT.
local meta = redis.call('HMGET', KEYS[3], 'status', 'begins', 'ends', 'limit')
local stock = redis.call('GET', KEYS[1])
if not meta[1] or not stock then return {9, 0} end
if meta[1] ~= 'listed' then return {5, 0} end
local now = tonumber(ARGV[3])
if meta[2] and meta[2] ~= '' and now < tonumber(meta[2]) then return {3, 0} end
if meta[3] and meta[3] ~= '' and now >= tonumber(meta[3]) then return {4, 0} end
stock = tonumber(stock)
if stock <= 0 then return {1, 0} end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held >= tonumber(meta[4] or '1') then return {2, held} end
redis.call('SET', KEYS[1], stock - 1)
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[4], ARGV[2], ARGV[1] .. ':' .. ARGV[3])
return {0, stock - 1}
