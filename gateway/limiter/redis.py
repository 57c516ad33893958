"""The shared limiter: every gateway instance counts in one Redis, one round trip per request.

One Lua script spends the request's one-time key (a DPoP ``jti``, under ``replay_prefix`` like
``RedisReplayCache``'s), then checks all of its hits and consumes them only if every enforced hit
conforms, so a refusal consumes nothing, and concurrent requests on other instances see
either all or none of it. Time comes from Redis ``TIME`` inside the script, so instances
with skewed clocks agree. The script is loaded once and called by ``EVALSHA``; after a
Redis restart (``NOSCRIPT``) it is loaded again. Every key expires once it is back to full.

The formulas repeat ``gcra.py``; change both together (the shared tests hold them equal).
Keys of one request must live on one node: for Redis Cluster give ``prefix`` a hash tag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from gateway.limiter import Decision, Hit, HitResult, LimiterUnavailable, OneTimeKey, decide, replayed
from gateway.limiter.resp import PipelinedConnection, RespError
from gateway.oauth.replay import REPLAY_PREFIX

SCRIPT = """
local peek = ARGV[1] == '1'
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local US = 1000000  -- times go back as integer microseconds: formatting floats costs more than the rest
local first = 0
if ARGV[3] ~= '' then
  first = 1
  if not redis.call('SET', KEYS[1], ARGV[4], 'NX', 'PX', ARGV[3]) then
    return {math.floor(now * US), {}, 0}
  end
end
local EPS, DAY = 1e-6, 86400
local _, exponent = math.frexp(math.max(now, 1))
local UNIT = math.ldexp(1, exponent - 53)  -- ulp(now): intervals are whole units of it (gcra.tick)
local results, writes, refused = {}, {}, false
local all_stored = {}
if #KEYS > first then all_stored = redis.call('MGET', unpack(KEYS, first + 1)) end
for i = 1, #KEYS - first do
  local at = 4 + (i - 1) * 5
  local kind, a, burst = ARGV[at + 1], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local cost, enforce = tonumber(ARGV[at + 4]), ARGV[at + 5] == '1'
  if peek then cost = 1 end
  local stored = all_stored[i]
  local allowed, remaining, reset, retry, value, ttl
  if kind == 'g' then
    a = math.max(UNIT, math.floor(a / UNIT + 0.5) * UNIT)
    local base = now
    local tat = stored and tonumber(stored)
    if tat and tat > now then base = tat end
    local new_tat = math.max(now, base + cost * a)  -- a negative cost gives calls back, never past full
    local allow_at = new_tat - burst * a
    if allow_at - now > EPS then
      allowed, reset, retry = false, base - now, allow_at - now
      remaining = math.max(0, math.floor((now + burst * a - base + EPS) / a))
    else
      allowed, reset, retry = true, new_tat - now, 0
      remaining = math.max(0, math.floor((now + burst * a - new_tat + EPS) / a))
      value, ttl = string.format('%.17g', new_tat), math.ceil((new_tat - now) * 1000) + 1
    end
    if peek then reset = base - now end
  else
    local today, spent = math.floor(now / DAY), 0
    if stored then
      local sep = string.find(stored, ':', 1, true)
      if tonumber(string.sub(stored, 1, sep - 1)) == today then spent = tonumber(string.sub(stored, sep + 1)) end
    end
    reset = (today + 1) * DAY - now
    if spent + cost > a then
      allowed, retry, remaining = false, reset, math.max(0, a - spent)
    else
      local after = math.max(0, spent + cost)  -- a negative cost gives calls back
      allowed, retry, remaining = true, 0, a - after
      value, ttl = today .. ':' .. after, math.ceil(reset * 1000) + 1000
    end
  end
  if peek and allowed then remaining = remaining + 1 end
  if enforce and not allowed then refused = true end
  if value then writes[#writes + 1] = {KEYS[i + first], value, ttl} end
  results[#results + 1] = allowed and 1 or 0
  results[#results + 1] = remaining
  results[#results + 1] = math.floor(reset * US + 0.5)
  results[#results + 1] = math.floor(retry * US + 0.5)
end
if not peek and not refused then
  for _, w in ipairs(writes) do redis.call('SET', w[1], w[2], 'PX', w[3]) end
end
return {math.floor(now * US), results, 1}
"""

SCRIPT_SHA = hashlib.sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest()


class RedisLimiter:
    """Limits counted in Redis, shared by every gateway instance that uses the same ``prefix``."""

    def __init__(
        self, client: Redis, *, prefix: str = "wg:rl:", replay_prefix: str = REPLAY_PREFIX, pipelined: bool = True
    ) -> None:
        self.client = client
        self._prefix = prefix
        self._replay_prefix = replay_prefix
        # The script's own connection (see resp.py); None: every call goes through ``client``.
        self.pipelined = PipelinedConnection.for_client(client) if pipelined else None
        self.use_pipelined = self.pipelined is not None

    async def load(self) -> None:
        """Load the script (start-up); ``EVALSHA`` falls back to this by itself after a restart."""
        try:
            await self.client.script_load(SCRIPT)
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(f"Redis did not load the limiter script: {exc}") from exc

    async def acquire(self, hits: Sequence[Hit], now: float | None = None, once: OneTimeKey | None = None) -> Decision:
        return await self._run(hits, now, peek=False, once=once)

    async def peek(self, hits: Sequence[Hit], now: float | None = None) -> Decision:
        return await self._run(hits, now, peek=True, once=None)

    async def spend_once(self, once: OneTimeKey) -> bool:
        """Spend ``once`` alone (the limits were counted elsewhere): True unless another request spent it.

        Finding this request's own token means an earlier try that timed out did spend it.
        """
        try:
            old = await self.client.set(
                self._replay_prefix + once.key, once.token, nx=True, get=True, px=max(1, int(once.ttl * 1000))
            )
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(f"Redis replay check failed: {type(exc).__name__}: {exc}") from exc
        return old is None or old == once.token.encode()

    def reconnect(self) -> None:
        """Drop the pipelined connection; the next call opens a new one. After Redis was lost, the old one
        may be a socket nothing answers on any more (a dead host, a moved address: no reset)."""
        if self.pipelined is not None:
            self.pipelined.close()

    async def aclose(self) -> None:
        if self.pipelined is not None:
            self.pipelined.close()
        await self.client.aclose()

    def begin(self, hits: Sequence[Hit], once: OneTimeKey | None = None) -> Awaitable[Decision]:
        """``acquire``, with the script written to Redis now when the pipelined connection is open: the
        caller works while the answer travels, then awaits it."""
        connection = self.pipelined if self.use_pipelined else None
        if connection is None or (not hits and once is None):
            return self.acquire(hits, once=once)
        keys, args = self._command(hits, None, peek=False, once=once)
        sent = connection.send("EVALSHA", SCRIPT_SHA, len(keys), *keys, *args)
        if sent is None:
            return self.acquire(hits, once=once)
        return self._decide(hits, self._answer(connection, keys, args, sent))

    async def _decide(self, hits: Sequence[Hit], answer: Awaitable[Any]) -> Decision:
        return _decision(hits, await answer)

    def _command(
        self, hits: Sequence[Hit], now: float | None, *, peek: bool, once: OneTimeKey | None
    ) -> tuple[list[str], list[str | int | float]]:
        """The script's keys and arguments for ``hits`` (and ``once``, spent first)."""
        keys = [self._prefix + hit.storage_key for hit in hits]
        args: list[str | int | float] = ["1" if peek else "0", "" if now is None else repr(now), "", ""]
        if once is not None:
            keys.insert(0, self._replay_prefix + once.key)
            args[2], args[3] = max(1, int(once.ttl * 1000)), once.token
        for hit in hits:
            rule = hit.rule
            if rule.kind == "daily":
                args += ("d", rule.limit, rule.limit, hit.cost, "1" if rule.mode == "enforce" else "0")
            else:
                args += ("g", repr(rule.interval), rule.burst, hit.cost, "1" if rule.mode == "enforce" else "0")
        return keys, args

    async def _run(self, hits: Sequence[Hit], now: float | None, *, peek: bool, once: OneTimeKey | None) -> Decision:
        if not hits and once is None:
            return decide([], 0.0 if now is None else now)
        keys, args = self._command(hits, now, peek=peek, once=once)
        if self.pipelined is not None and self.use_pipelined:
            return _decision(hits, await self._answer(self.pipelined, keys, args))
        try:
            try:
                raw = await self.client.evalsha(SCRIPT_SHA, len(keys), *keys, *args)
            except NoScriptError:
                await self.client.script_load(SCRIPT)
                raw = await self.client.evalsha(SCRIPT_SHA, len(keys), *keys, *args)
        except (RedisError, OSError) as exc:
            raise LimiterUnavailable(f"Redis limiter call failed: {type(exc).__name__}: {exc}") from exc
        return _decision(hits, raw)

    async def _answer(
        self,
        connection: PipelinedConnection,
        keys: list[str],
        args: list[str | int | float],
        sent: Awaitable[Any] | None = None,
    ) -> Any:
        """The script's reply, through ``connection`` (``sent``: the reply of the call already written)."""
        try:
            try:
                if sent is None:
                    sent = connection.call("EVALSHA", SCRIPT_SHA, len(keys), *keys, *args)
                return await sent
            except RespError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                await connection.call("SCRIPT", "LOAD", SCRIPT)
                return await connection.call("EVALSHA", SCRIPT_SHA, len(keys), *keys, *args)
        except (RespError, OSError) as exc:
            raise LimiterUnavailable(f"Redis limiter call failed: {type(exc).__name__}: {exc}") from exc

    def traced(self) -> Callable[[], None]:
        """Send the script through ``client`` (whose calls become spans) until the returned undo is called."""
        self.use_pipelined = False

        def undo() -> None:
            self.use_pipelined = self.pipelined is not None

        return undo


def _decision(hits: Sequence[Hit], raw: Any) -> Decision:
    now, flat = raw[0] / 1e6, raw[1]
    if raw[2] == 0:
        return replayed(now)
    results = [
        HitResult(
            hit,
            flat[i * 4] == 1,
            flat[i * 4 + 1],
            flat[i * 4 + 2] / 1e6,
            flat[i * 4 + 3] / 1e6,
        )
        for i, hit in enumerate(hits)
    ]
    return decide(results, now)
