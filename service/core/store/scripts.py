"""Lua scripts that make each state change of a comment atomic in Redis."""

from __future__ import annotations

#: Spend the captcha nonce, store the comment and mark it pending, in one step.
#: Also adds one to a counter (a metric), in the same round trip.
#: KEYS: spent-nonce, comment hash, pending zset, drain-scheduled flag, counter hash
#: ARGV: nonce ttl, comment id, created_at, flag ttl, counter field, then the hash's
#:       field/value pairs as one JSON array of strings (redis-py packs each argument
#:       in Python: one argument costs the web process far less than two per field)
#: Returns -1 when the nonce was spent already, 1 when a scoring job must be
#: enqueued, 0 when one is already scheduled.
ACCEPT = """
if KEYS[1] ~= '' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return -1 end
end
redis.call('HSET', KEYS[2], unpack(cjson.decode(ARGV[6])))
if KEYS[5] ~= '' then redis.call('HINCRBY', KEYS[5], ARGV[5], 1) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
if redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[4]) then return 1 end
return 0
"""

#: Count a wrong captcha answer; spend the token at the limit.
#: KEYS: attempts counter, spent-nonce marker; ARGV: ttl, max attempts
#: Returns 1 when the token is now spent, else 0.
WRONG_ANSWER = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], 'attempts', 'EX', ARGV[1])
  return 1
end
return 0
"""

#: Claim up to ARGV[3] comments for a worker: first those whose lease expired
#: (their worker died), then the oldest pending ones.
#: KEYS: pending zset, inflight zset
#: ARGV: now, lease deadline, limit
CLAIM = """
local limit = tonumber(ARGV[3])
local ids = redis.call('ZRANGE', KEYS[2], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, limit)
local room = limit - #ids
if room > 0 then
  local fresh = redis.call('ZRANGE', KEYS[1], 0, room - 1)
  for _, id in ipairs(fresh) do
    redis.call('ZREM', KEYS[1], id)
    table.insert(ids, id)
  end
end
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[2], ARGV[2], id) end
return ids
"""

#: Record the decisions of a batch; a comment is decided only while it is pending.
#: Each decided comment's webhook event goes to the outbox in the same step.
#: KEYS: pending zset, inflight zset, outbox stream, then per comment: its hash, its
#:       thread's published zset, its new status's index and its site's index of
#:       that status
#: ARGV: decided_at, then per comment: id, status, score, model version,
#:       reasons (JSON), created_at, event id, event body ('' for no event) and the
#:       comment's site (for its event's receivers)
#: Returns the ids that were decided by this call.
DECIDE = """
local decided = {}
local n = (#KEYS - 3) / 4
for i = 1, n do
  local ckey, tkey, skey = KEYS[4 * i], KEYS[1 + 4 * i], KEYS[2 + 4 * i]
  local a = 2 + (i - 1) * 9
  local id, status = ARGV[a], ARGV[a + 1]
  if redis.call('HGET', ckey, 'status') == 'pending' then
    redis.call('HSET', ckey, 'status', status, 'score', ARGV[a + 2],
      'model_version', ARGV[a + 3], 'reasons', ARGV[a + 4], 'decided_at', ARGV[1])
    redis.call('ZADD', skey, ARGV[a + 5], id)
    redis.call('ZADD', KEYS[3 + 4 * i], ARGV[a + 5], id)
    if status == 'published' then redis.call('ZADD', tkey, ARGV[a + 5], id) end
    if ARGV[a + 7] ~= '' then
      redis.call('XADD', KEYS[3], '*', 'kind', 'event', 'id', ARGV[a + 6], 'body', ARGV[a + 7],
        'site', ARGV[a + 8])
    end
    table.insert(decided, id)
  end
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return decided
"""


#: Moderators' decisions on one or more comments (of one site or several): all or
#: nothing. What must follow goes to the outbox in the same step: each comment's webhook
#: event (with the status it had and its site) and, for a labelled decision, a model
#: update of each site that got labels.
#: KEYS: pending, inflight, audit stream, the four status indexes (published, held,
#:       spam, rejected), the outbox stream, then per comment its
#:       hash, its thread's published zset, its site's feedback stream, its site's
#:       campaign stream and its site's four status indexes (in the global ones' order)
#: ARGV: new status, label ('' | 'ham' | 'spam'), moderator, now, action, campaign
#:       stream's max length, the events as a JSON array of [id, body] in the order of
#:       the comments ('' for none), the request id (for the model update), then per
#:       comment: id, expected status ('' for any), campaign signature ('' for none:
#:       nothing is added to the campaign stream; only labelled decisions carry one),
#:       its site
#: Returns {'ok', from1, from2, ...} or {'failed', id, 'missing' | 'conflict', current}
MODERATE = """
local new, label, who, now, action = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local n = (#KEYS - 8) / 8
local before = {}
for i = 1, n do
  local a = 9 + (i - 1) * 4
  local current = redis.call('HGET', KEYS[1 + 8 * i], 'status')
  if not current then return {'failed', ARGV[a], 'missing', ''} end
  if ARGV[a + 1] ~= '' and ARGV[a + 1] ~= current then
    return {'failed', ARGV[a], 'conflict', current}
  end
  before[i] = current
end
local indexes = {published = KEYS[4], held = KEYS[5], spam = KEYS[6], rejected = KEYS[7]}
local labelled, sites = {}, {}
for i = 1, n do
  local a = 9 + (i - 1) * 4
  local id, site = ARGV[a], ARGV[a + 3]
  local ckey, tkey = KEYS[1 + 8 * i], KEYS[2 + 8 * i]
  local own = {published = KEYS[5 + 8 * i], held = KEYS[6 + 8 * i], spam = KEYS[7 + 8 * i],
    rejected = KEYS[8 + 8 * i]}
  local created = redis.call('HGET', ckey, 'created_at')
  redis.call('HSET', ckey, 'status', new, 'moderated_by', who, 'moderated_at', now,
    'moderation_action', action)
  if redis.call('HEXISTS', ckey, 'decided_at') == 0 then
    redis.call('HSET', ckey, 'decided_at', now)
  end
  for _, key in pairs(indexes) do redis.call('ZREM', key, id) end
  for _, key in pairs(own) do redis.call('ZREM', key, id) end
  redis.call('ZADD', indexes[new], created, id)
  redis.call('ZADD', own[new], created, id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  if new == 'published' then
    redis.call('ZADD', tkey, created, id)
  else
    redis.call('ZREM', tkey, id)
  end
  if label ~= '' then
    redis.call('XADD', KEYS[3 + 8 * i], 'MAXLEN', '~', 100000, '*', 'comment_id', id,
      'label', label, 'moderator', who, 'at', now, 'site', site)
    if ARGV[a + 2] ~= '' then
      redis.call('XADD', KEYS[4 + 8 * i], 'MAXLEN', '~', ARGV[6], '*', 'key', id,
        'label', label, 'moderator', who, 'sig', ARGV[a + 2])
    end
    if not labelled[site] then
      labelled[site] = true
      sites[#sites + 1] = site
    end
  end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 1000000, '*', 'at', now, 'moderator', who,
    'comment_id', id, 'action', action, 'from', before[i], 'to', new, 'site', site)
end
if ARGV[7] ~= '' then
  local evs = cjson.decode(ARGV[7])
  for i = 1, n do
    redis.call('XADD', KEYS[8], '*', 'kind', 'event', 'id', evs[i][1], 'body', evs[i][2],
      'previous', before[i], 'site', ARGV[9 + (i - 1) * 4 + 3])
  end
end
for _, site in ipairs(sites) do
  redis.call('XADD', KEYS[8], '*', 'kind', 'learning', 'request_id', ARGV[8], 'site', site)
end
local out = {'ok'}
for i = 1, n do out[#out + 1] = before[i] end
return out
"""


#: Publish comments imported from another system (``commentgate import --publish``):
#: one batch, atomically. A comment whose id exists already is left as it is (imported
#: before, perhaps moderated since), so importing again adds nothing. A reply keeps its
#: parent only when the parent is a published comment (imported before or earlier in
#: this batch).
#: KEYS: published status index, then per comment: its hash, its thread's published
#:       zset, its parent's hash ('' for none), its site's published index
#: ARGV: per comment: id, created_at, parent id ('' for none), the hash's field/value
#:       pairs as one JSON array of strings
#: Returns the number of comments published by this call.
IMPORT_PUBLISHED = """
local added = 0
local n = (#KEYS - 1) / 4
for i = 1, n do
  local ckey, tkey, pkey = KEYS[4 * i - 2], KEYS[4 * i - 1], KEYS[4 * i]
  local a = 4 * i - 3
  if redis.call('EXISTS', ckey) == 0 then
    redis.call('HSET', ckey, unpack(cjson.decode(ARGV[a + 3])))
    if pkey ~= '' and redis.call('HGET', pkey, 'status') == 'published' then
      redis.call('HSET', ckey, 'parent_id', ARGV[a + 2])
    end
    redis.call('ZADD', KEYS[1], ARGV[a + 1], ARGV[a])
    redis.call('ZADD', tkey, ARGV[a + 1], ARGV[a])
    redis.call('ZADD', KEYS[4 * i + 1], ARGV[a + 1], ARGV[a])
    added = added + 1
  end
end
return added
"""


#: Replace the IP addresses of decided comments past retention by their keyed hashes
#: and drop their user agents. Each comment is rechecked here, where nothing else can
#: run in between: it must still exist (never recreate a purged comment), be decided
#: (a worker still needs a pending comment's address for the lists) and hold the
#: address the caller hashed. Only those two fields are written: a moderator's or a
#: worker's decision, before or after, is left as it is.
#: KEYS: per comment its hash
#: ARGV: per comment: the address read ('' for none), what replaces it
#: Returns how many comments changed.
FORGET_CLIENT = """
local changed = 0
for i = 1, #KEYS do
  local status = redis.call('HGET', KEYS[i], 'status')
  if status and status ~= 'pending' then
    local ip = redis.call('HGET', KEYS[i], 'ip') or ''
    if ip == ARGV[2 * i - 1] then
      local n = redis.call('HDEL', KEYS[i], 'user_agent')
      if ip ~= ARGV[2 * i] then
        redis.call('HSET', KEYS[i], 'ip', ARGV[2 * i])
        n = n + 1
      end
      if n > 0 then changed = changed + 1 end
    end
  end
end
return changed
"""
