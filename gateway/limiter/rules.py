"""Which limits apply to a request: the limits policy compiled into limiter rules and hits.

``rule_book(policy)`` compiles a ``LimitPolicy`` once (cached per policy object); its
``call_hits`` and ``endpoint_hits`` name every rule a request is counted against and the
key it is counted under. Attended calls (customer present) count against the attended
wallet and user limits; unattended calls against the unattended wallet limit and the
consent's daily frequency for the operation. Every call counts against its API's ceiling
and its operation's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gateway.limiter import Hit, OnFailure, Rule
from gateway.limiter.gcra import DAY
from policies.limits import ApiLimits, LimitPolicy, Rate


def _rule(name: str, rate: Rate | None, text: str, on_failure: OnFailure | None = None) -> Rule | None:
    if rate is None:
        return None
    return Rule(
        name,
        rate.rate,
        rate.period,
        rate.burst,
        mode=rate.mode,
        on_redis_failure=on_failure,
        text=text.format(rate=rate.rate, per=rate.per, burst=rate.burst),
    )


def _failing(rule: Rule | None, on_failure: OnFailure | None) -> Rule | None:
    return replace(rule, on_redis_failure=on_failure) if rule is not None and on_failure else rule


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the limits of one proxied call depend on (read off the pipeline's ``Call``)."""

    api: str | None
    operation: str | None
    operation_rules: Sequence[str]  # named rules the operation lists (apis/*.yaml `limits`)
    client_id: str
    user_id: str | None
    consent_id: str | None
    consent_frequency: int | None
    attended: bool


class RuleBook:
    """The policy's limits as rules, built once; hits are cheap to make per request."""

    def __init__(self, policy: LimitPolicy) -> None:
        self.policy = policy
        self.wallet_attended = _rule(
            "wallet.attended",
            policy.wallet_attended,
            "the wallet's limit of {rate} calls per {per} with the customer present",
        )
        self.wallet_unattended = _rule(
            "wallet.unattended",
            policy.wallet_unattended,
            "the wallet's limit of {rate} calls per {per} without the customer present",
        )
        self.user_attended = _rule(
            "user.attended", policy.user_attended, "the customer's limit of {rate} calls per {per} (customer present)"
        )
        self._daily: dict[tuple[int, OnFailure | None], Rule] = {}
        self._personal: dict[str | None, tuple[Rule | None, Rule | None, Rule | None]] = {}
        self._operations: dict[tuple[str, str, tuple[str, ...]], tuple[Hit, ...]] = {}
        self._endpoints: dict[str, tuple[Rule | None, Rule | None]] = {}
        for endpoint, limits in policy.endpoints.items():
            on_failure = policy.endpoints_on_redis_failure
            self._endpoints[endpoint] = (
                _rule(
                    f"endpoint.{endpoint}.client",
                    limits.per_client,
                    f"{{rate}} /{endpoint} calls per {{per}} per client",
                    on_failure,
                ),
                _rule(
                    f"endpoint.{endpoint}.address",
                    limits.per_address,
                    f"{{rate}} /{endpoint} calls per {{per}} per address",
                    on_failure,
                ),
            )

    def on_failure(self, api: str | None) -> OnFailure | None:
        """What the API's policy says to do when Redis is lost (None: the gateway setting)."""
        limits = self.policy.apis.get(api) if api else None
        return limits.on_redis_failure if limits else None

    def personal_rules(self, api: str | None) -> tuple[Rule | None, Rule | None, Rule | None]:
        """Wallet (attended, unattended) and customer rules, carrying ``api``'s choice on Redis failure.

        The counters are the same for every API (the storage key is the rule's name); only
        what to do when Redis is lost follows the API being called.
        """
        rules = self._personal.get(api)
        if rules is None:
            fail = self.on_failure(api)
            rules = self._personal[api] = (
                _failing(self.wallet_attended, fail),
                _failing(self.wallet_unattended, fail),
                _failing(self.user_attended, fail),
            )
        return rules

    def daily_rule(self, consent_frequency: int | None, api: str | None = None) -> Rule:
        """The frequencyPerDay rule for a consent: its own frequency, within the policy's cap."""
        allowed = self.policy.frequency.allowed(consent_frequency)
        fail = self.on_failure(api)
        rule = self._daily.get((allowed, fail))
        if rule is None:
            rule = self._daily[(allowed, fail)] = Rule(
                "consent.daily",
                allowed,
                DAY,
                allowed,
                kind="daily",
                mode=self.policy.frequency.mode,
                on_redis_failure=fail,
                text=f"the consent's {allowed} calls a day to this operation without the customer present "
                "(frequencyPerDay)",
            )
        return rule

    def operation_hits(self, api: str, operation: str, names: Sequence[str]) -> tuple[Hit, ...]:
        """The API ceiling (counted per API), the operation's own limit and the named rules it lists
        (counted per operation); built once per operation, so a call allocates none of them."""
        key = (api, operation, tuple(names))
        hits = self._operations.get(key)
        if hits is None:
            hits = self._operations[key] = tuple(
                Hit(rule, f"api:{api}" if rule.name == f"api.{api}" else f"op:{api}:{operation}")
                for rule in self._compile_operation(api, operation, key[2])
            )
        return hits

    def _compile_operation(self, api: str, operation: str, names: tuple[str, ...]) -> tuple[Rule, ...]:
        limits = self.policy.apis.get(api, ApiLimits())
        fail = limits.on_redis_failure
        found = [
            _rule(f"api.{api}", limits.ceiling, f"the {api} API's ceiling of {{rate}} calls per {{per}}", fail),
            _rule(
                f"op.{api}.{operation}",
                limits.operations.get(operation),
                f"{operation}'s limit of {{rate}} calls per {{per}}",
                fail,
            ),
        ]
        for name in names:
            found.append(
                _rule(
                    f"rule.{name}",
                    self.policy.rules.get(name),
                    f"{operation}'s '{name}' limit of {{rate}} calls per {{per}}",
                    fail,
                )
            )
        return tuple(r for r in found if r is not None)

    def call_hits(self, facts: CallFacts) -> list[Hit]:
        """Every hit a proxied call is counted against."""
        hits: list[Hit] = []
        wallet = f"wallet:{facts.client_id}"
        wallet_attended, wallet_unattended, user_attended = self.personal_rules(facts.api)
        if facts.attended:
            if wallet_attended:
                hits.append(Hit(wallet_attended, wallet))
            if user_attended and facts.user_id:
                hits.append(Hit(user_attended, f"user:{facts.user_id}"))
        else:
            if wallet_unattended:
                hits.append(Hit(wallet_unattended, wallet))
            if facts.consent_id and facts.operation:
                rule = self.daily_rule(facts.consent_frequency, facts.api)
                hits.append(Hit(rule, f"consent:{facts.consent_id}:{facts.operation}"))
        if facts.api and facts.operation:
            hits.extend(self.operation_hits(facts.api, facts.operation, facts.operation_rules))
        return hits

    def endpoint_hits(self, endpoint: str, client_id: str | None, source_ip: str | None) -> list[Hit]:
        """Hits for a call to an OAuth endpoint (token, par, register)."""
        per_client, per_address = self._endpoints.get(endpoint, (None, None))
        hits = []
        if per_client and client_id:
            hits.append(Hit(per_client, f"client:{client_id}"))
        if per_address and source_ip:
            hits.append(Hit(per_address, f"address:{source_ip}"))
        return hits

    def wallet_hits(self, client_id: str) -> list[Hit]:
        """The limits counted per wallet, for ``walletgate limits show``."""
        rules = [self.wallet_attended, self.wallet_unattended]
        hits = [Hit(r, f"wallet:{client_id}") for r in rules if r is not None]
        for per_client, _ in self._endpoints.values():
            if per_client is not None:
                hits.append(Hit(per_client, f"client:{client_id}"))
        return hits


_BOOKS: dict[int, tuple[LimitPolicy, RuleBook]] = {}


def rule_book(policy: LimitPolicy) -> RuleBook:
    """The compiled rules of ``policy``, built on first use and kept for the policy's life."""
    entry = _BOOKS.get(id(policy))
    if entry is None or entry[0] is not policy:
        entry = _BOOKS[id(policy)] = (policy, RuleBook(policy))
    return entry[1]
