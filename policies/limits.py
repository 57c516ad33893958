"""The limits policy: who may call how often, read strictly from ``limits.yaml``.

The gateway's limiter turns these into rules; this module only checks and models them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from policies.errors import PolicyError
from policies.load import Located, plain, read_yaml, validate

if TYPE_CHECKING:
    from policies.apis import PublishedApi

Mode = Literal["enforce", "report"]
OnRedisFailure = Literal["open", "closed"]
ENDPOINTS = ("token", "par", "register")

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Rate:
    """On average ``rate`` calls per ``period`` seconds, at most ``burst`` at once."""

    rate: int
    period: float
    burst: int
    mode: Mode = "enforce"
    per: str = "1s"  # as written in the policy, for messages

    @property
    def report_only(self) -> bool:
        return self.mode == "report"


@dataclass(frozen=True, slots=True)
class DailyFrequency:
    """Berlin Group frequencyPerDay for unattended calls, per consent and operation."""

    default: int = 4
    cap: int = 4
    mode: Mode = "enforce"
    refund_bank_failures: bool = True  # a call the bank failed (502, or 503 from its breaker) gives its count back

    def allowed(self, consent_frequency: int | None) -> int:
        """Calls a day for a consent: its own frequency if it has one, never above the cap."""
        wanted = self.default if consent_frequency is None or consent_frequency < 1 else consent_frequency
        return min(wanted, self.cap)


@dataclass(frozen=True, slots=True)
class ApiLimits:
    ceiling: Rate | None = None
    on_redis_failure: OnRedisFailure | None = None
    operations: Mapping[str, Rate] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class EndpointLimits:
    per_client: Rate | None = None
    per_address: Rate | None = None


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    instances: int = 1
    wallet_attended: Rate | None = None
    wallet_unattended: Rate | None = None
    user_attended: Rate | None = None
    frequency: DailyFrequency = DailyFrequency()
    rules: Mapping[str, Rate] = field(default_factory=lambda: MappingProxyType({}))  # named, for operations
    apis: Mapping[str, ApiLimits] = field(default_factory=lambda: MappingProxyType({}))
    endpoints: Mapping[str, EndpointLimits] = field(default_factory=lambda: MappingProxyType({}))
    endpoints_on_redis_failure: OnRedisFailure | None = None

    def unknown_rules(self, names: Iterable[str]) -> list[str]:
        """Names an API policy references that ``rules`` does not define."""
        return [name for name in names if name not in self.rules]


def parse_period(text: str) -> float:
    """Seconds in a period such as ``1s``, ``10m``, ``1h`` or ``1d`` (the schema checks the form)."""
    return float(int(text[:-1]) * _UNIT_SECONDS[text[-1]])


def _rate(data: Mapping[str, Any] | None) -> Rate | None:
    if data is None:
        return None
    per = data.get("per", "1s")
    rate = int(data["rate"])
    return Rate(rate, parse_period(per), int(data.get("burst") or rate), data.get("mode", "enforce"), per)


def _api(data: Mapping[str, Any]) -> ApiLimits:
    operations = {name: r for name, spec in data.get("operations", {}).items() if (r := _rate(spec)) is not None}
    return ApiLimits(_rate(data.get("ceiling")), data.get("on_redis_failure"), MappingProxyType(operations))


def _check(doc: Located, data: Mapping[str, Any]) -> list[str]:
    """Cross-field rules the schema cannot say."""
    problems = []
    freq = data.get("frequency_per_day", {})
    if freq.get("default", 4) > freq.get("cap", 4):
        problems.append(
            f"{doc.where(['frequency_per_day', 'default'])}: default {freq.get('default', 4)} is above "
            f"the cap {freq.get('cap', 4)}"
        )
    return problems


def load_limits(path: Path, *, missing_ok: bool = False, apis: Mapping[str, PublishedApi] | None = None) -> LimitPolicy:
    """Read ``limits.yaml``; raises ``PolicyError`` naming file, line and path of every problem.

    With ``missing_ok`` an absent file means the schema defaults (only the daily frequency of 4),
    so a policy folder written for one concern (a test's, say) need not carry limits. With
    ``apis``, every limit rule an operation lists must be defined here.
    """
    policy = LimitPolicy() if missing_ok and not path.exists() else _read(path)
    problems = _unknown_references(policy, apis or {})
    if problems:
        raise PolicyError(problems)
    return policy


def _unknown_references(policy: LimitPolicy, apis: Mapping[str, PublishedApi]) -> list[str]:
    defined = ", ".join(sorted(policy.rules)) or "none"
    return [
        f"{api.source}: operations.{op_id}.limits: unknown limit rule {name!r} (limits.yaml defines: {defined})"
        for api in apis.values()
        for op_id, operation in api.operations.items()
        for name in policy.unknown_rules(operation.limits)
    ]


def _read(path: Path) -> LimitPolicy:
    doc = read_yaml(path)
    problems = validate(doc, "limits.schema.json")
    if not problems:
        problems = _check(doc, doc.data or {})
    if problems:
        raise PolicyError(problems)
    data: dict[str, Any] = plain(doc.data) or {}
    wallet, user = data.get("wallet", {}), data.get("user", {})
    freq = data.get("frequency_per_day", {})
    endpoints = data.get("endpoints", {})
    return LimitPolicy(
        instances=data.get("instances", 1),
        wallet_attended=_rate(wallet.get("attended")),
        wallet_unattended=_rate(wallet.get("unattended")),
        user_attended=_rate(user.get("attended")),
        frequency=DailyFrequency(
            freq.get("default", 4),
            freq.get("cap", 4),
            freq.get("mode", "enforce"),
            freq.get("refund_bank_failures", True),
        ),
        rules=MappingProxyType({name: r for name, spec in data.get("rules", {}).items() if (r := _rate(spec))}),
        apis=MappingProxyType({name: _api(spec) for name, spec in data.get("apis", {}).items()}),
        endpoints=MappingProxyType(
            {
                name: EndpointLimits(_rate(spec.get("per_client")), _rate(spec.get("per_address")))
                for name in ENDPOINTS
                if (spec := endpoints.get(name)) is not None
            }
        ),
        endpoints_on_redis_failure=endpoints.get("on_redis_failure"),
    )
