-- KEYS: stock, buyers, pending.  ARGV: order id, user id, give the unit back (0/1).
-- The intake refused or gave up an accepted order: once per order (guarded by HDEL on pending).
if redis.call('HDEL', KEYS[3], ARGV[1]) == 0 then return 0 end
if tonumber(ARGV[3]) > 0 and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCR', KEYS[1]) end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if held > 1 then redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
elseif held == 1 then redis.call('HDEL', KEYS[2], ARGV[2]) end
return 1
