"""Runs the scim2-tester conformance checks (PyPI `scim2-tester`) against a live Charter SCIM
endpoint, and prints every check's outcome.

    python conformance.py <base URL> <API key> <verified domain>

One adaptation, and only one: Charter's identity is an email in one of the organization's
verified domains, so the random `userName` and email values the checker generates
(`<uuid>@<uuid>.com`) are made in the organization's verified domain instead. Nothing else of the
checker is changed. The exit status is 1 when any check ends in ERROR or CRITICAL.
"""

import sys
import uuid

import scim2_tester
import scim2_tester.filling as filling
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

URL, KEY, DOMAIN = sys.argv[1:4]
GENERATE = filling.generate_random_value


def names_an_identity(path) -> bool:
    """Whether the checker would fill `path` with an email address."""
    text = str(path)
    if text.endswith("userName") or text.endswith("emails.value"):
        return True
    binding = path.resolve()
    model = binding.target_model if binding else None
    return bool(
        binding
        and binding.target_field_name == "value"
        and model is not None
        and "email" in model.__name__.lower()
    )


def in_the_verified_domain(context, path, mutability=None, required=None):
    value = GENERATE(context, path, mutability=mutability, required=required)
    if value is None or not names_an_identity(path):
        return value
    address = f"{uuid.uuid4().hex}@{DOMAIN}"
    return [address] if isinstance(value, list) else address


# The checkers import the generator by name: replace it wherever it was imported.
for module in list(sys.modules.values()):
    if getattr(module, "__name__", "").startswith("scim2_tester") and (
        getattr(module, "generate_random_value", None) is GENERATE
    ):
        module.generate_random_value = in_the_verified_domain

client = SyncSCIMClient(Client(base_url=URL, headers={"Authorization": f"Bearer {KEY}"}))
client.discover()
results = check_server(client)
counts: dict[str, int] = {}
failed = False
for result in results:
    counts[result.status.name] = counts.get(result.status.name, 0) + 1
    where = f" [{result.resource_type}]" if result.resource_type else ""
    print(f"{result.status.name} {result.title}{where}")
    if result.status != Status.SUCCESS and result.reason:
        print(f"    {result.reason}")
    if result.status in (Status.ERROR, Status.CRITICAL):
        failed = True
summary = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
print(f"scim2-tester {scim2_tester.__version__ if hasattr(scim2_tester, '__version__') else ''}: "
      f"{len(results)} checks: {summary}")
sys.exit(1 if failed else 0)
