-- KEYS: stock, buyers.  ARGV: user id, units to add to stock (0 or 1).
-- A cancel, expiry or refund: the unit and the buyer's slot come back (only into a loaded gate).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(ARGV[2]) > 0 then redis.call('INCRBY', KEYS[1], ARGV[2]) end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held > 1 then redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
elseif held == 1 then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 1
