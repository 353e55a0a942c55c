#!/usr/bin/env python3
"""Checks of the deployment artifacts: the Helm chart, configmap.yaml and the Dockerfile.

Run from anywhere: python3 deploy/helm/tests/test_chart.py
Needs the PyPI packages in requirements.txt beside this file and the openssl command.

The chart is rendered with the Helm SDK itself (helm-python-sdk binds Helm's Go library), offline.
The `lookup` that keeps the generated certificate across upgrades is exercised against a stand-in
API server on loopback that serves the Secret of an earlier render.
"""

from __future__ import annotations

import base64
import http.server
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CHART = ROOT / "deploy" / "helm" / "kube-oidc-proxy"
BANYAN_VALUES = CHART / "ci" / "banyan-values.yaml"
PROXY_FLAGS = ROOT / "Sources" / "ProxyConfiguration" / "ProxyFlags.swift"
YAMLLINT_CONFIG = HERE / "yamllint.yaml"
INSTALL_HINT = f"python3 -m pip install -r {HERE.relative_to(ROOT) / 'requirements.txt'}"

try:
    import helm_python as helm
    import yaml
except ImportError as missing:  # pragma: no cover - the message is the point
    sys.exit(f"test_chart: missing Python package ({missing}); install them with:\n  {INSTALL_HINT}")

RELEASE = "kube-oidc-proxy"
NAMESPACE = "kube-oidc-proxy-ns"
FULLNAME = "kube-oidc-proxy"
REQUIRED = {"oidc": {"issuerUrl": "https://issuer.example.com", "clientId": "kubernetes"}}
SERVICE_NAMES = [
    FULLNAME,
    f"{FULLNAME}.{NAMESPACE}",
    f"{FULLNAME}.{NAMESPACE}.svc",
    f"{FULLNAME}.{NAMESPACE}.svc.cluster.local",
]


# --- helpers -------------------------------------------------------------------------------


def merged(*layers: dict) -> dict:
    """Deep-merges value layers, later ones winning, as -f a.yaml -f b.yaml would."""
    result: dict = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = merged(result[key], value)
            else:
                result[key] = value
    return result


def banyan_values() -> dict:
    return yaml.safe_load(BANYAN_VALUES.read_text())


def render(values: dict, config: "helm.Config | None" = None, **options) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` (or, with a Config, as an upgrade would)."""
    with helm.Chart.load(CHART) as chart:
        if config is None:
            return chart.render(values=values, name=RELEASE, namespace=NAMESPACE, **options)
        return config.render(chart, values, name=RELEASE, namespace=NAMESPACE, **options)


def documents(rendered: dict[str, str]) -> list[dict]:
    docs = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc is not None:
                doc["__template__"] = path
                docs.append(doc)
    return docs


def find(docs: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def container(docs: list[dict]) -> dict:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def flags(args: list[str]) -> dict[str, list[str]]:
    """--name=value arguments by name, every value kept in order."""
    parsed: dict[str, list[str]] = {}
    for arg in args:
        assert arg.startswith("--"), f"argument {arg!r} is not a --flag"
        name, _, value = arg[2:].partition("=")
        parsed.setdefault(name, []).append(value)
    return parsed


def known_flags() -> set[str]:
    """Flag names declared in ProxyFlags.swift: .string("name", ...), .bool(\n "name", ...)."""
    source = PROXY_FLAGS.read_text()
    return set(re.findall(r"\.(?:string|stringList|stringArray|int|bool|float|duration|keyValues|keyValuePerOccurrence|byteQuantity)\(\s*\"([a-z0-9-]+)\"", source))


MI = 1 << 20
QUANTITY_SUFFIXES = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def quantity_bytes(text: str) -> int:
    """A byte quantity as the proxy's --audit-spool-max-bytes and a Kubernetes sizeLimit read it."""
    match = re.fullmatch(r"([0-9]+)(?:\.([0-9]+))?([A-Za-z]*)", str(text))
    assert match and match[3] in QUANTITY_SUFFIXES, f"not a byte quantity: {text!r}"
    whole, fraction, multiplier = int(match[1]), match[2] or "", QUANTITY_SUFFIXES[match[3]]
    return whole * multiplier + -(-int(fraction or "0") * multiplier // 10 ** len(fraction))


def spool_bytes_on_disk(args: list[str]) -> int:
    """The most the audit spools take on disk, from the proxy's own arguments: each batching sink
    (Banyan when --banyan-service-name is set, the webhook when --audit-webhook-config-file is)
    keeps its own spool of at most --audit-spool-max-bytes (default 256Mi), plus the segment it
    fills and the next one prepared, both reserved whole: max(4096, min(maxBytes/16, 8Mi)) each
    (AuditShipper.Configuration.spoolSegmentBytes)."""
    parsed = flags(args)
    sinks = sum(1 for name in ("banyan-service-name", "audit-webhook-config-file") if parsed.get(name, [""])[-1])
    max_bytes = quantity_bytes(parsed.get("audit-spool-max-bytes", ["256Mi"])[-1])
    segment = max(4096, min(max_bytes // 16, 8 * MI))
    return sinks * (max_bytes + 2 * segment)


def pem_of(secret: dict, key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


def openssl(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def subject_alt_names(cert_pem: str) -> tuple[set[str], set[str]]:
    """(DNS names, IP addresses) of a PEM certificate."""
    text = openssl("x509", "-noout", "-ext", "subjectAltName", stdin=cert_pem)
    entries = [e.strip() for e in text.split("\n", 1)[1].replace("\n", ",").split(",") if e.strip()]
    dns = {e[len("DNS:"):] for e in entries if e.startswith("DNS:")}
    ips = {e[len("IP Address:"):] for e in entries if e.startswith("IP Address:")}
    return dns, ips


def verify_chain(cert_pem: str, ca_pem: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "ca.pem").write_text(ca_pem)
        (Path(tmp) / "cert.pem").write_text(cert_pem)
        openssl("verify", "-CAfile", str(Path(tmp) / "ca.pem"), str(Path(tmp) / "cert.pem"))


def tool(name: str) -> str:
    """A console script installed by pip next to this interpreter, else on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise AssertionError(f"{name} is not installed; install the test's packages with:\n  {INSTALL_HINT}")
    return found


def yamllint(paths: list[Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "yamllint", "-f", "parsable", "-c", str(YAMLLINT_CONFIG), *map(str, paths)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise AssertionError(f"yamllint found problems:\n{done.stdout}{done.stderr}")


class FakeAPIServer:
    """Just enough of the Kubernetes API for Helm's `lookup` of Secrets: discovery of v1 and
    GET of one Secret, answered from `secrets`; everything else is a 404 Status."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], dict] = {}
        self.requests: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                owner.requests.append(self.path)
                path = self.path.split("?", 1)[0]
                code, body = 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}
                match = re.fullmatch(r"/api/v1/namespaces/([^/]+)/secrets/([^/]+)", path)
                if path == "/api/v1":
                    code, body = 200, {
                        "kind": "APIResourceList",
                        "groupVersion": "v1",
                        "resources": [{"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret", "verbs": ["get"]}],
                    }
                elif path == "/api":
                    code, body = 200, {"kind": "APIVersions", "versions": ["v1"]}
                elif path == "/version":
                    code, body = 200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0"}
                elif match and (match[1], match[2]) in owner.secrets:
                    code, body = 200, owner.secrets[(match[1], match[2])]
                payload = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeAPIServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def store(self, secret: dict) -> None:
        stored = {k: v for k, v in secret.items() if k != "__template__"}
        self.secrets[(secret["metadata"]["namespace"], secret["metadata"]["name"])] = stored

    def config(self) -> "helm.Config":
        kubeconfig = yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{self.server.server_port}"}}],
                "users": [{"name": "test", "user": {"token": "test"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "test"}}],
                "current-context": "fake",
            }
        )
        return helm.Config(kubeconfig_content=kubeconfig, namespace=NAMESPACE, storage_driver="memory")


# --- the chart with its default values -----------------------------------------------------


class DefaultValuesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.rendered = render(REQUIRED)
        cls.docs = documents(cls.rendered)
        cls.container = container(cls.docs)
        cls.flags = flags(cls.container["args"])

    def test_every_document_parses_and_names_itself(self) -> None:
        kinds = sorted(d["kind"] for d in self.docs)
        self.assertEqual(
            kinds,
            sorted(["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Service", "ServiceAccount"]),
        )
        for doc in self.docs:
            self.assertTrue(doc.get("apiVersion"), doc["__template__"])
            self.assertTrue(doc["metadata"].get("name"), doc["__template__"])
            if doc["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
                self.assertEqual(doc["metadata"].get("namespace"), NAMESPACE, doc["__template__"])

    def test_every_flag_passed_is_a_proxy_flag(self) -> None:
        unknown = set(self.flags) - known_flags()
        self.assertFalse(unknown, f"flags not declared in {PROXY_FLAGS.relative_to(ROOT)}: {sorted(unknown)}")

    def test_oidc_flags(self) -> None:
        expected = {
            "oidc-issuer-url": ["https://issuer.example.com"],
            "oidc-client-id": ["kubernetes"],
            "oidc-username-claim": ["email"],
            "oidc-username-prefix": ["banyan:"],
            "oidc-groups-claim": ["roles"],
            "oidc-groups-prefix": ["banyan:"],
            "oidc-signing-algs": ["RS256"],
        }
        for name, values in expected.items():
            self.assertEqual(self.flags.get(name), values, f"--{name}")
        self.assertNotIn("oidc-required-claim", self.flags)
        self.assertNotIn("oidc-ca-file", self.flags)

    def test_serving_flags_match_ports_and_mounted_files(self) -> None:
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        self.assertEqual(self.flags["secure-port"], [str(ports["https"])])
        self.assertEqual(self.flags["readiness-probe-port"], [str(ports["probe"])])
        self.assertEqual(ports, {"https": 6443, "probe": 8080})
        deployment = one(self.docs, "Deployment")
        tls_secret = self.mounted_volume(deployment, self.flags["tls-cert-file"][0])["secret"]
        self.assertEqual(tls_secret["secretName"], f"{FULLNAME}-tls")
        self.assertEqual({i["key"] for i in tls_secret["items"]}, {"tls.crt", "tls.key"}, "the CA key must not be mounted")
        self.assertEqual(Path(self.flags["tls-private-key-file"][0]).parent, Path(self.flags["tls-cert-file"][0]).parent)
        service = one(self.docs, "Service", FULLNAME)
        self.assertEqual(service["spec"]["ports"][0]["port"], 443)
        self.assertEqual(service["spec"]["ports"][0]["targetPort"], "https")

    def test_audit_policy_is_rendered_mounted_and_passed(self) -> None:
        deployment = one(self.docs, "Deployment")
        policy_file = self.flags["audit-policy-file"][0]
        volume = self.mounted_volume(deployment, policy_file)
        configmap = one(self.docs, "ConfigMap", volume["configMap"]["name"])
        policy = yaml.safe_load(configmap["data"][Path(policy_file).name])
        assert_valid_policy(self, policy)
        self.assertEqual(policy["rules"], [{"level": "Metadata"}])
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        self.assertRegex(annotations["checksum/audit-policy"], r"^[0-9a-f]{64}$")

    def test_audit_policy_level_is_overridable_and_rolls_the_pods(self) -> None:
        docs = documents(render(merged(REQUIRED, {"auditPolicy": {"level": "RequestResponse"}})))
        configmap = one(docs, "ConfigMap")
        self.assertEqual(yaml.safe_load(configmap["data"]["audit.yaml"])["rules"], [{"level": "RequestResponse"}])
        before = one(self.docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/audit-policy"]
        after = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/audit-policy"]
        self.assertNotEqual(before, after)

    def test_audit_spool_is_an_empty_dir(self) -> None:
        deployment = one(self.docs, "Deployment")
        spool = self.flags["audit-spool-dir"][0]
        self.assertTrue(spool.startswith("/var/lib/kube-oidc-proxy/"), spool)
        mount = self.mount_for(deployment, spool)
        self.assertEqual(mount["mountPath"], "/var/lib/kube-oidc-proxy")
        volume = self.volume(deployment, mount["name"])
        self.assertIn("emptyDir", volume)
        self.assertFalse(mount.get("readOnly", False))

    def test_no_banyan_flags_without_banyan_values(self) -> None:
        self.assertFalse([f for f in self.flags if f.startswith("banyan-")])
        self.assertFalse(find(self.docs, "Secret", f"{FULLNAME}-banyan"))

    def test_probes(self) -> None:
        ready, live = self.container["readinessProbe"], self.container["livenessProbe"]
        self.assertEqual((ready["httpGet"]["path"], ready["httpGet"]["port"]), ("/ready", "probe"))
        self.assertEqual((live["httpGet"]["path"], live["httpGet"]["port"]), ("/healthz", "probe"))

    def test_security_context(self) -> None:
        pod = one(self.docs, "Deployment")["spec"]["template"]["spec"]
        ctx = self.container["securityContext"]
        self.assertTrue(ctx["runAsNonRoot"])
        self.assertEqual(ctx["runAsUser"], 65532)
        self.assertTrue(ctx["readOnlyRootFilesystem"])
        self.assertFalse(ctx["allowPrivilegeEscalation"])
        self.assertEqual(ctx["capabilities"]["drop"], ["ALL"])
        self.assertEqual(ctx["seccompProfile"]["type"], "RuntimeDefault")
        self.assertEqual(pod["securityContext"]["runAsUser"], 65532)
        self.assertEqual(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault")
        for mount in self.container["volumeMounts"]:
            if not mount.get("readOnly"):
                self.assertIn("emptyDir", self.volume(one(self.docs, "Deployment"), mount["name"]), mount["mountPath"])

    def test_pre_stop_sleep_outlasts_endpoint_removal(self) -> None:
        """On SIGTERM the proxy closes its listener at once; endpoints and load balancers keep
        sending to the pod for a few seconds more. A preStop sleep keeps it serving meanwhile."""
        self.assertEqual(self.container["lifecycle"]["preStop"], {"exec": {"command": ["sleep", "10"]}})
        longer = container(documents(render(merged(REQUIRED, {"shutdownDelaySeconds": 25}))))
        self.assertEqual(longer["lifecycle"]["preStop"]["exec"]["command"], ["sleep", "25"])
        off = container(documents(render(merged(REQUIRED, {"shutdownDelaySeconds": 0}))))
        self.assertNotIn("lifecycle", off, "shutdownDelaySeconds 0 turns the hook off")
        with self.assertRaisesRegex(helm.HelmError, r"shutdownDelaySeconds must be 0"):
            render(merged(REQUIRED, {"shutdownDelaySeconds": -1}))

    def test_grace_period_covers_the_whole_shutdown(self) -> None:
        """The kubelet kills the pod terminationGracePeriodSeconds after it starts stopping it,
        preStop included. The proxy needs: the preStop sleep, its drain (up to 30 s while watches
        are open), the audit flush (10 s), and a send already in flight (webhook up to 30 s,
        Banyan 15 s). Less than that and the in-flight batch and the flush are cut short."""
        pod = one(self.docs, "Deployment")["spec"]["template"]["spec"]
        pre_stop = int(self.container["lifecycle"]["preStop"]["exec"]["command"][1])
        drain, flush, send = 30, 10, 30
        self.assertGreaterEqual(pod["terminationGracePeriodSeconds"], pre_stop + drain + flush + send)
        self.assertEqual(pod["terminationGracePeriodSeconds"], 90)

    def test_rbac(self) -> None:
        role = one(self.docs, "ClusterRole")
        granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
        for resource in ("users", "groups", "serviceaccounts"):
            self.assertIn(("", resource, "impersonate"), granted)
        for resource in ("uids", "userextras/*"):
            self.assertIn(("authentication.k8s.io", resource, "impersonate"), granted)
        self.assertIn(("authentication.k8s.io", "tokenreviews", "create"), granted)
        # The proxy makes no SubjectAccessReview (the API server authorizes the impersonated
        # user): least privilege leaves it out.
        self.assertNotIn(("authorization.k8s.io", "subjectaccessreviews", "create"), granted)
        self.assertEqual(len(granted), 6, f"nothing more than needed: {sorted(granted)}")
        binding = one(self.docs, "ClusterRoleBinding")
        account = one(self.docs, "ServiceAccount")
        self.assertEqual(binding["roleRef"]["name"], role["metadata"]["name"])
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": NAMESPACE}])
        pod = one(self.docs, "Deployment")["spec"]["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], account["metadata"]["name"])

    def test_generated_certificate_names_the_service(self) -> None:
        secret = one(self.docs, "Secret", f"{FULLNAME}-tls")
        self.assertEqual(secret["type"], "kubernetes.io/tls")
        cert = pem_of(secret, "tls.crt")
        dns, ips = subject_alt_names(cert)
        self.assertEqual(dns, set(SERVICE_NAMES))
        self.assertEqual(ips, set())
        verify_chain(cert, pem_of(secret, "ca.crt"))
        openssl("x509", "-noout", "-checkend", str(30 * 86400), stdin=cert)  # valid for more than 30 days

    def test_certificate_template_looks_up_the_existing_secret(self) -> None:
        template = (CHART / "templates" / "secret-tls.yaml").read_text()
        self.assertRegex(template, r'lookup "v1" "Secret" \.Release\.Namespace \$name')

    def test_disruption_budget_and_no_optional_extras(self) -> None:
        pdb = one(self.docs, "PodDisruptionBudget")
        self.assertEqual(pdb["spec"]["maxUnavailable"], 1)
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"], one(self.docs, "Deployment")["spec"]["selector"]["matchLabels"])
        self.assertFalse(find(self.docs, "HorizontalPodAutoscaler"))
        self.assertFalse(find(self.docs, "ServiceMonitor"))

    def test_service_is_an_internal_load_balancer(self) -> None:
        """SPEC and the Banyan guide put the proxy behind an internal load balancer; a default
        install must not give it a public address."""
        service = one(self.docs, "Service", FULLNAME)
        self.assertEqual(service["spec"]["type"], "LoadBalancer")
        annotations = service["metadata"].get("annotations", {})
        self.assertEqual(annotations.get("service.beta.kubernetes.io/aws-load-balancer-internal"), "true")
        self.assertEqual(annotations.get("service.beta.kubernetes.io/aws-load-balancer-scheme"), "internal")
        self.assertEqual(annotations.get("service.beta.kubernetes.io/azure-load-balancer-internal"), "true")
        self.assertEqual(annotations.get("networking.gke.io/load-balancer-type"), "Internal")
        self.assertIn("internal load balancer", self.rendered["kube-oidc-proxy/templates/NOTES.txt"])

    def test_missing_issuer_is_refused_with_the_value_to_set(self) -> None:
        with self.assertRaisesRegex(helm.HelmError, r"oidc\.issuerUrl is required"):
            render({"oidc": {"clientId": "kubernetes"}})
        with self.assertRaisesRegex(helm.HelmError, r"oidc\.clientId is required"):
            render({"oidc": {"issuerUrl": "https://issuer.example.com"}})

    def test_helm_lint_is_clean(self) -> None:
        for values in (REQUIRED, banyan_values()):
            report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE)
            problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
            self.assertFalse(problems, problems)

    # helpers over the Deployment's pod spec
    def volume(self, deployment: dict, name: str) -> dict:
        return next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == name)

    def mount_for(self, deployment: dict, path: str) -> dict:
        mounts = deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        owning = [m for m in mounts if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")]
        self.assertTrue(owning, f"{path} is on no mounted volume")
        return max(owning, key=lambda m: len(m["mountPath"]))

    def mounted_volume(self, deployment: dict, path: str) -> dict:
        return self.volume(deployment, self.mount_for(deployment, path)["name"])


def assert_valid_policy(test: unittest.TestCase, policy: dict) -> None:
    """What the proxy's policy reader insists on (AuditPolicyDocumentReader.swift)."""
    test.assertIn(policy.get("apiVersion"), ("audit.k8s.io/v1", "audit.k8s.io/v1beta1"))
    test.assertEqual(policy.get("kind"), "Policy")
    test.assertTrue(policy.get("rules"), "a policy needs rules")
    for rule in policy["rules"]:
        test.assertIn(rule.get("level"), ("None", "Metadata", "Request", "RequestResponse"))


# --- the chart as a Banyan deployment configures it ----------------------------------------


class BanyanValuesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.values = banyan_values()
        cls.rendered = render(cls.values)
        cls.docs = documents(cls.rendered)
        cls.container = container(cls.docs)
        cls.flags = flags(cls.container["args"])
        cls.token = cls.values["auditProxy"]["refreshToken"]

    def test_every_flag_passed_is_a_proxy_flag(self) -> None:
        unknown = set(self.flags) - known_flags()
        self.assertFalse(unknown, f"flags not declared in {PROXY_FLAGS.relative_to(ROOT)}: {sorted(unknown)}")

    def test_each_required_claim_is_its_own_flag(self) -> None:
        claims = self.values["oidc"]["requiredClaims"]
        self.assertEqual(sorted(self.flags["oidc-required-claim"]), sorted(f"{k}={v}" for k, v in claims.items()))

    def test_oidc_and_behaviour_flags(self) -> None:
        oidc = self.values["oidc"]
        self.assertEqual(self.flags["oidc-issuer-url"], [oidc["issuerUrl"]])
        self.assertEqual(self.flags["oidc-client-id"], [oidc["clientId"]])
        self.assertEqual(self.flags["oidc-username-prefix"], ["banyan:"])
        self.assertEqual(self.flags["oidc-groups-prefix"], ["banyan:"])
        self.assertEqual(self.flags["token-passthrough"], ["true"])
        self.assertEqual(self.flags["token-passthrough-audiences"], ["https://kubernetes.default.svc"])
        self.assertEqual(self.flags["extra-user-header-client-ip"], ["true"])
        self.assertEqual(self.flags["extra-user-headers"], ["team=platform,env=prod"])

    def test_extra_args_pass_through_as_the_proxy_reads_them(self) -> None:
        self.assertEqual(self.flags["audit-webhook-batch-max-wait"], ["300s"])
        self.assertEqual(self.flags["audit-webhook-batch-max-size"], ["400"])
        self.assertEqual(self.flags["audit-webhook-batch-throttle-qps"], ["0.067"])
        self.assertEqual(self.flags["v"], ["2"])

    def test_banyan_flags_and_refresh_token_file(self) -> None:
        self.assertEqual(self.flags["banyan-service-name"], ["k8s-prod-cluster"])
        self.assertEqual(self.flags["banyan-restapi-url"], ["https://net.banyanops.com"])
        token_file = self.flags["banyan-refresh-token-file"][0]
        deployment = one(self.docs, "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        mount = next(m for m in self.container["volumeMounts"] if token_file.startswith(m["mountPath"].rstrip("/") + "/"))
        self.assertTrue(mount["readOnly"])
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])["secret"]
        item = next(i for i in volume["items"] if i["path"] == Path(token_file).name)
        secret = one(self.docs, "Secret", volume["secretName"])
        self.assertEqual(base64.b64decode(secret["data"][item["key"]]).decode(), self.token)

    def test_refresh_token_is_readable_without_fs_group(self) -> None:
        """0440 makes the file readable by uid 65532 only through fsGroup; an operator's
        podSecurityContext without fsGroup would leave the token unreadable and the proxy
        failing at start. The container has a single non-root user, so 0444 is as tight."""
        values = merged(self.values, {"podSecurityContext": {"fsGroup": None}})
        docs = documents(render(values))
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        self.assertNotIn("fsGroup", pod["securityContext"])
        volume = next(v for v in pod["volumes"] if v["name"] == "banyan-refresh-token")["secret"]
        mode = volume.get("defaultMode", 0o644)
        self.assertEqual(mode & 0o004, 0o004, f"defaultMode {mode:o}: others cannot read the token")
        self.assertEqual(mode & 0o222, 0, f"defaultMode {mode:o}: the token must not be writable")
        self.assertEqual(mode, 0o444)

    def test_refresh_token_appears_only_in_its_secret(self) -> None:
        deployment = one(self.docs, "Deployment")
        self.assertNotIn(self.token, json.dumps(deployment), "the refresh token leaked into the Deployment")
        for env in self.container.get("env", []):
            self.assertNotIn("REFRESH_TOKEN", env["name"])
        b64 = base64.b64encode(self.token.encode()).decode()
        for path, text in self.rendered.items():
            if "secret-banyan" not in path:
                self.assertNotIn(self.token, text, path)
                self.assertNotIn(b64, text, path)

    def test_internal_load_balancer_for_the_chosen_cloud(self) -> None:
        service = one(self.docs, "Service", FULLNAME)
        annotations = service["metadata"]["annotations"]
        self.assertEqual(annotations["service.beta.kubernetes.io/aws-load-balancer-internal"], "true")
        self.assertEqual(annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internal")
        self.assertNotIn("service.beta.kubernetes.io/azure-load-balancer-internal", annotations)
        self.assertNotIn("networking.gke.io/load-balancer-type", annotations)
        self.assertEqual(service["spec"]["type"], "LoadBalancer")
        self.assertEqual(service["spec"]["loadBalancerSourceRanges"], ["10.0.0.0/8"])

    def test_certificate_carries_host_name_and_ip(self) -> None:
        secret = one(self.docs, "Secret", f"{FULLNAME}-tls")
        dns, ips = subject_alt_names(pem_of(secret, "tls.crt"))
        self.assertEqual(dns, {"k8s-prod.corp.example.com", *SERVICE_NAMES})
        self.assertEqual(ips, {"10.20.30.40"})
        subject = openssl("x509", "-noout", "-subject", stdin=pem_of(secret, "tls.crt"))
        self.assertIn("k8s-prod.corp.example.com", subject)

    def test_autoscaler_and_service_monitor(self) -> None:
        deployment = one(self.docs, "Deployment")
        self.assertNotIn("replicas", deployment["spec"], "the autoscaler owns the replica count")
        hpa = one(self.docs, "HorizontalPodAutoscaler")
        self.assertEqual(hpa["spec"]["scaleTargetRef"]["name"], deployment["metadata"]["name"])
        monitor = one(self.docs, "ServiceMonitor")
        selected = [
            s for s in find(self.docs, "Service")
            if monitor["spec"]["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()
        ]
        self.assertEqual(len(selected), 1, "the ServiceMonitor must select exactly the metrics Service")
        self.assertEqual(monitor["spec"]["endpoints"][0]["port"], selected[0]["spec"]["ports"][0]["name"])
        self.assertEqual(monitor["spec"]["endpoints"][0]["path"], "/metrics")
        self.assertEqual(selected[0]["spec"]["ports"][0]["port"], int(self.flags["readiness-probe-port"][0]))
        self.assertEqual(selected[0]["spec"]["type"], "ClusterIP")
        self.assertEqual(one(self.docs, "PodDisruptionBudget")["spec"]["minAvailable"], 1)


# --- other combinations of values ----------------------------------------------------------


class ValueVariantsTest(unittest.TestCase):
    def service_annotations(self, service_values: dict) -> dict:
        docs = documents(render(merged(REQUIRED, {"service": service_values})))
        return one(docs, "Service")["metadata"].get("annotations", {})

    def test_internal_without_cloud_sets_all_three(self) -> None:
        annotations = self.service_annotations({"internal": True})
        self.assertEqual(annotations["service.beta.kubernetes.io/aws-load-balancer-internal"], "true")
        self.assertEqual(annotations["service.beta.kubernetes.io/azure-load-balancer-internal"], "true")
        self.assertEqual(annotations["networking.gke.io/load-balancer-type"], "Internal")

    def test_internal_for_azure_and_gcp(self) -> None:
        azure = self.service_annotations({"internal": True, "cloudProvider": "azure"})
        self.assertEqual(azure, {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"})
        gcp = self.service_annotations({"internal": True, "cloudProvider": "gcp"})
        self.assertEqual(gcp["networking.gke.io/load-balancer-type"], "Internal")
        self.assertFalse([k for k in gcp if "aws" in k or "azure" in k])

    def test_public_load_balancer_only_when_asked(self) -> None:
        self.assertEqual(self.service_annotations({"internal": False}), {})

    def test_other_service_types_need_no_internal_false(self) -> None:
        """service.internal (on by default) concerns load balancers only: a ClusterIP Service
        behind an Ingress renders without also turning it off, and carries no LB annotations."""
        for kind in ("ClusterIP", "NodePort"):
            with self.subTest(type=kind):
                rendered = render(merged(REQUIRED, {"service": {"type": kind}}))
                service = one(documents(rendered), "Service", FULLNAME)
                self.assertEqual(service["spec"]["type"], kind)
                self.assertEqual(service["metadata"].get("annotations", {}), {})
                self.assertNotIn("internal load balancer", rendered["kube-oidc-proxy/templates/NOTES.txt"])

    def test_user_annotations_win(self) -> None:
        annotations = self.service_annotations(
            {"internal": True, "cloudProvider": "aws", "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}}
        )
        self.assertEqual(annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"], "internet-facing")

    def test_refused_combinations_name_the_value(self) -> None:
        refused = {
            r"service\.cloudProvider must be": {"service": {"internal": True, "cloudProvider": "openstack"}},
            r"auditProxy\.serviceName is set but there is no refresh token": {"auditProxy": {"serviceName": "svc"}},
            r"auditProxy\.serviceName is empty": {"auditProxy": {"refreshToken": "tok"}},
            r"exclusive": {"auditProxy": {"serviceName": "s", "refreshToken": "t", "existingSecret": "x"}},
        }
        for message, values in refused.items():
            with self.subTest(message=message):
                with self.assertRaisesRegex(helm.HelmError, message):
                    render(merged(REQUIRED, values))

    def test_autoscaler_needs_the_request_it_scales_on(self) -> None:
        """Utilization is a share of the request: without resources.requests.cpu the HPA reads
        no CPU utilization and never scales. The render says so instead."""
        autoscaling = {"autoscaling": {"enabled": True}}
        with self.assertRaisesRegex(helm.HelmError, r"autoscaling\.enabled needs resources\.requests\.cpu"):
            render(merged(REQUIRED, autoscaling))
        with self.assertRaisesRegex(helm.HelmError, r"resources\.requests\.cpu"):
            render(merged(REQUIRED, autoscaling, {"resources": {"limits": {"cpu": "1"}, "requests": {"memory": "128Mi"}}}))
        with self.assertRaisesRegex(helm.HelmError, r"resources\.requests\.memory"):
            render(merged(REQUIRED, autoscaling, {"autoscaling": {"targetMemoryUtilizationPercentage": 80}}, {"resources": {"requests": {"cpu": "100m"}}}))
        docs = documents(render(merged(REQUIRED, autoscaling, {"resources": {"requests": {"cpu": "100m"}}})))
        metrics = one(docs, "HorizontalPodAutoscaler")["spec"]["metrics"]
        self.assertEqual([m["resource"]["name"] for m in metrics], ["cpu"])
        memory_only = {"autoscaling": {"targetCPUUtilizationPercentage": None, "targetMemoryUtilizationPercentage": 80}}
        docs = documents(render(merged(REQUIRED, autoscaling, memory_only, {"resources": {"requests": {"memory": "128Mi"}}})))
        self.assertEqual([m["resource"]["name"] for m in one(docs, "HorizontalPodAutoscaler")["spec"]["metrics"]], ["memory"])

    def spool_volume(self, values: dict) -> tuple[dict, list[str]]:
        docs = documents(render(merged(REQUIRED, values)))
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        return next(v for v in pod["volumes"] if v["name"] == "state")["emptyDir"], container(docs)["args"]

    def test_spool_volume_holds_every_spool_at_its_fullest(self) -> None:
        """Past its sizeLimit the kubelet evicts the pod, and the evicted pod's spool (every
        unsent event) goes with it. The limit follows the spool size and the sinks using it:
        each gets maxBytes plus two reserved segments, and the volume 64Mi of headroom."""
        banyan = {"auditProxy": {"serviceName": "svc", "refreshToken": "tok"}}
        webhook = {"extraArgs": {"audit-webhook-config-file": "/etc/audit-webhook/kubeconfig"}}
        cases = [
            ("no batching sink", {}, "64Mi"),
            ("Banyan", banyan, "336Mi"),  # 256 + 2*8 + 64
            ("Banyan, maxBytes 1Gi", merged(banyan, {"auditSpool": {"maxBytes": "1Gi"}}), "1104Mi"),
            ("Banyan, maxBytes in plain bytes", merged(banyan, {"auditSpool": {"maxBytes": 1 << 30}}), "1104Mi"),
            ("Banyan, maxBytes in Ki", merged(banyan, {"auditSpool": {"maxBytes": "1048576Ki"}}), "1104Mi"),
            ("Banyan, small spool", merged(banyan, {"auditSpool": {"maxBytes": "16Mi"}}), "82Mi"),  # 16 + 2*1 + 64
            ("Banyan and webhook", merged(banyan, webhook), "608Mi"),
            ("maxBytes from extraArgs", merged(banyan, webhook, {"extraArgs": {"audit-spool-max-bytes": "1Gi"}}), "2144Mi"),
            ("webhook only, sizeLimit empty", merged(webhook, {"auditSpool": {"sizeLimit": ""}}), "336Mi"),
            ("old sidecar webhook is dropped", merged(banyan, {"extraArgs": {"audit-webhook-config-file": "/audit/webhook.yaml"}}), "336Mi"),
            ("spool moved off the volume", merged(banyan, {"extraArgs": {"audit-spool-dir": "/spool"}}), "64Mi"),
        ]
        for label, values, expected in cases:
            with self.subTest(label):
                volume, args = self.spool_volume(values)
                self.assertEqual(volume["sizeLimit"], expected)
                on_volume = flags(args)["audit-spool-dir"][-1].startswith("/var/lib/kube-oidc-proxy/")
                self.assertGreaterEqual(quantity_bytes(volume["sizeLimit"]), spool_bytes_on_disk(args) * on_volume + 64 * MI)

    def test_explicit_spool_size_limit_is_kept_unless_too_small(self) -> None:
        both = {"auditProxy": {"serviceName": "svc", "refreshToken": "tok"}, "extraArgs": {"audit-webhook-config-file": "/etc/wh"}}
        volume, _ = self.spool_volume(merged(both, {"auditSpool": {"sizeLimit": "1Gi"}}))
        self.assertEqual(volume["sizeLimit"], "1Gi")
        # The chart's former default holds two spools of 256Mi (544Mi), not two of 1Gi (2080Mi).
        volume, _ = self.spool_volume(merged(both, {"auditSpool": {"sizeLimit": "576Mi"}}))
        self.assertEqual(volume["sizeLimit"], "576Mi")
        with self.assertRaisesRegex(helm.HelmError, r"auditSpool\.sizeLimit 576Mi is smaller than .*2080Mi"):
            self.spool_volume(merged(both, {"auditSpool": {"sizeLimit": "576Mi", "maxBytes": "1Gi"}}))
        with self.assertRaisesRegex(helm.HelmError, r"auditSpool\.sizeLimit 512Mi is smaller than"):
            self.spool_volume(merged(both, {"auditSpool": {"sizeLimit": "512Mi"}}))
        with self.assertRaisesRegex(helm.HelmError, r"audit-spool-max-bytes"):
            self.spool_volume(merged(both, {"auditSpool": {"maxBytes": "lots"}}))

    def test_existing_refresh_token_secret(self) -> None:
        docs = documents(render(merged(REQUIRED, {"auditProxy": {"serviceName": "svc", "existingSecret": "banyan-token", "existingSecretKey": "token"}})))
        self.assertFalse(find(docs, "Secret", f"{FULLNAME}-banyan"))
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "banyan-refresh-token")["secret"]
        self.assertEqual(volume["secretName"], "banyan-token")
        self.assertEqual(volume["items"], [{"key": "token", "path": "refresh-token"}])
        self.assertIn("banyan-refresh-token-file", flags(container(docs)["args"]))

    def test_own_tls_secret_replaces_the_generated_one(self) -> None:
        docs = documents(render(merged(REQUIRED, {"tls": {"secretName": "corp-tls"}})))
        self.assertFalse(find(docs, "Secret", f"{FULLNAME}-tls"))
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        self.assertEqual(next(v for v in pod["volumes"] if v["name"] == "tls")["secret"]["secretName"], "corp-tls")

    def test_oidc_ca_pem(self) -> None:
        ca = pem_of(one(documents(render(REQUIRED)), "Secret", f"{FULLNAME}-tls"), "ca.crt")
        docs = documents(render(merged(REQUIRED, {"oidc": {"caPEM": ca}})))
        args = flags(container(docs)["args"])
        self.assertEqual(args["oidc-ca-file"], ["/etc/kube-oidc-proxy/oidc-ca/ca.crt"])
        self.assertEqual(pem_of(one(docs, "Secret", f"{FULLNAME}-oidc-ca"), "ca.crt"), ca)

    def test_extra_args_replace_chart_flags_instead_of_doubling_them(self) -> None:
        args = flags(container(documents(render(merged(REQUIRED, {"extraArgs": {"secure-port": 8443, "oidc-signing-algs": ["RS256", "ES256"]}}))))["args"])
        self.assertEqual(args["secure-port"], ["8443"])
        self.assertEqual(args["oidc-signing-algs"], ["RS256", "ES256"])

    def test_ingress_takes_old_string_paths_and_new_path_maps(self) -> None:
        hosts = [{"host": "k8s.example.com", "paths": ["/oidc-proxy", {"path": "/", "pathType": "Exact"}]}]
        ingress = one(documents(render(merged(REQUIRED, {"ingress": {"enabled": True, "hosts": hosts}}))), "Ingress")
        paths = ingress["spec"]["rules"][0]["http"]["paths"]
        self.assertEqual([(p["path"], p["pathType"]) for p in paths], [("/oidc-proxy", "Prefix"), ("/", "Exact")])
        self.assertEqual(paths[0]["backend"]["service"], {"name": FULLNAME, "port": {"name": "https"}})

    def test_old_banyan_chart_audit_values_still_work(self) -> None:
        """The old chart mounted a hand-applied ConfigMap at /audit and posted to a sidecar's
        webhook; with those values the policy file is the user's and the webhook is dropped."""
        old = {
            "extraArgs": {
                "audit-webhook-config-file": "/audit/webhook.yaml",
                "audit-policy-file": "/audit/audit.yaml",
                "audit-webhook-batch-max-wait": "300s",
                "audit-webhook-batch-buffer-size": 1000000,
                "audit-webhook-truncate-enabled": True,
            },
            "extraVolumeMounts": [{"name": "audit", "mountPath": "/audit", "readOnly": True}],
            "extraVolumes": [{"name": "audit", "configMap": {"name": "kube-oidc-proxy-audit-policy", "defaultMode": 420}}],
            "auditProxyImage": {"name": "bnn-audit-proxy", "repository": "example/audit-proxy", "tag": "v0.0.5"},
        }
        docs = documents(render(merged(REQUIRED, old)))
        args = flags(container(docs)["args"])
        self.assertEqual(args["audit-policy-file"], ["/audit/audit.yaml"])
        self.assertNotIn("audit-webhook-config-file", args)
        self.assertEqual(args["audit-webhook-batch-buffer-size"], ["1000000"])
        self.assertEqual(args["audit-webhook-truncate-enabled"], ["true"])
        self.assertFalse(find(docs, "ConfigMap"))
        self.assertEqual(len(one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]), 1)


# --- the generated certificate across upgrades (Helm's lookup against a stand-in API server) ---


class CertificateAcrossUpgradesTest(unittest.TestCase):
    def secret(self, docs: list[dict]) -> dict:
        return one(docs, "Secret", f"{FULLNAME}-tls")

    def test_upgrade_keeps_certificate_renames_and_renewal_keep_ca(self) -> None:
        values = merged(REQUIRED, {"tls": {"hostName": "k8s.example.com"}})
        first = self.secret(documents(render(values)))
        with FakeAPIServer() as api, api.config() as config:
            api.store(first)
            upgraded = self.secret(documents(render(values, config=config, is_upgrade=True)))
            self.assertTrue(any(p.endswith(f"/secrets/{FULLNAME}-tls") for p in api.requests), api.requests)
            for key in ("tls.crt", "tls.key", "ca.crt", "ca.key"):
                self.assertEqual(upgraded["data"][key], first["data"][key], f"{key} changed on upgrade")

            renamed_values = merged(values, {"tls": {"hostName": "k8s-new.example.com"}})
            renamed = self.secret(documents(render(renamed_values, config=config, is_upgrade=True)))
            self.assertNotEqual(renamed["data"]["tls.crt"], first["data"]["tls.crt"])
            self.assertEqual(renamed["data"]["ca.crt"], first["data"]["ca.crt"], "kubeconfigs trust the CA: keep it")
            dns, _ = subject_alt_names(pem_of(renamed, "tls.crt"))
            self.assertIn("k8s-new.example.com", dns)
            self.assertNotIn("k8s.example.com", dns)
            verify_chain(pem_of(renamed, "tls.crt"), pem_of(first, "ca.crt"))

            expiring = json.loads(json.dumps({k: v for k, v in first.items() if k != "__template__"}))
            expiring["metadata"]["annotations"]["kube-oidc-proxy/certificate-not-after"] = str(int(time.time()) + 86400)
            api.store(expiring)
            renewed = self.secret(documents(render(values, config=config, is_upgrade=True)))
            self.assertNotEqual(renewed["data"]["tls.crt"], first["data"]["tls.crt"])
            self.assertEqual(renewed["data"]["ca.crt"], first["data"]["ca.crt"])
            verify_chain(pem_of(renewed, "tls.crt"), pem_of(first, "ca.crt"))


# --- configmap.yaml, YAML style, Dockerfile ------------------------------------------------


class ConfigMapFileTest(unittest.TestCase):
    def test_audit_policy_configmap_as_the_banyan_guide_applies_it(self) -> None:
        docs = [d for d in yaml.safe_load_all((ROOT / "configmap.yaml").read_text()) if d]
        self.assertEqual(len(docs), 1)
        configmap = docs[0]
        self.assertEqual((configmap["apiVersion"], configmap["kind"]), ("v1", "ConfigMap"))
        self.assertEqual(configmap["metadata"]["name"], "kube-oidc-proxy-audit-policy")
        self.assertEqual(configmap["metadata"]["namespace"], NAMESPACE)
        policy = yaml.safe_load(configmap["data"]["audit.yaml"])
        assert_valid_policy(self, policy)
        self.assertEqual(policy["rules"], [{"level": "Metadata"}])
        webhook = yaml.safe_load(configmap["data"]["webhook.yaml"])
        self.assertEqual(webhook["kind"], "Config")
        self.assertTrue(webhook["clusters"][0]["cluster"]["server"].startswith("http://localhost:8082"))

    def test_chart_can_use_it_instead_of_its_own(self) -> None:
        docs = documents(render(merged(REQUIRED, {"auditPolicy": {"existingConfigMap": "kube-oidc-proxy-audit-policy"}})))
        self.assertFalse(find(docs, "ConfigMap"))
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        self.assertEqual(next(v for v in pod["volumes"] if v["name"] == "audit-policy")["configMap"]["name"], "kube-oidc-proxy-audit-policy")


class ChartReadmeTest(unittest.TestCase):
    """What an operator must know and the chart cannot do for them, said in the chart's README."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.text = re.sub(r"\s+", " ", (CHART / "README.md").read_text())

    def section(self, heading: str) -> str:
        match = re.search(rf"## {re.escape(heading)} (.*?)(?: ## |$)", self.text)
        self.assertTrue(match, f"README has no section {heading!r}")
        return match[1]

    def test_spool_is_lost_with_the_pod(self) -> None:
        text = self.section("Operating it")
        self.assertIn("survives a container restart", text)
        self.assertRegex(text, r"not the pod's deletion")
        self.assertRegex(text, r"at most 10 s")
        self.assertIn("kube_oidc_proxy_audit_oldest_unsent_event_age_seconds", text)

    def test_existing_policy_or_ca_needs_a_rollout_restart(self) -> None:
        text = self.section("Operating it")
        for value in ("auditPolicy.existingConfigMap", "oidc.caSecret", "kubectl -n kube-oidc-proxy-ns rollout restart deployment/kube-oidc-proxy"):
            self.assertIn(value, text)

    def test_helm_template_gitops_needs_a_certificate_secret(self) -> None:
        text = self.section("Operating it")
        self.assertIn("helm template", text)
        self.assertIn("Argo CD", text)
        self.assertIn("tls.secretName", text)
        self.assertIn("cert-manager", text)


class YamlLintTest(unittest.TestCase):
    def test_hand_written_yaml(self) -> None:
        yamllint([ROOT / "configmap.yaml", CHART / "values.yaml", CHART / "Chart.yaml", BANYAN_VALUES])

    def test_rendered_manifests(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for label, values in (("default", REQUIRED), ("banyan", banyan_values())):
                for template, text in render(values).items():
                    if template.endswith(".yaml") and text.strip():
                        path = Path(tmp) / label / template
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(text)
                        paths.append(path)
            yamllint(paths)


class DockerfileTest(unittest.TestCase):
    BUILD = "swift build -c release --static-swift-stdlib --product kube-oidc-proxy"

    @classmethod
    def setUpClass(cls) -> None:
        cls.text = (ROOT / "Dockerfile").read_text()
        cls.instructions = [
            line.strip() for line in re.sub(r"\\\n", " ", cls.text).splitlines() if line.strip() and not line.lstrip().startswith("#")
        ]

    def test_hadolint(self) -> None:
        done = subprocess.run([tool("hadolint"), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, f"hadolint:\n{done.stdout}{done.stderr}")

    def test_stages(self) -> None:
        froms = [i for i in self.instructions if i.upper().startswith("FROM ")]
        self.assertEqual(len(froms), 2, froms)
        self.assertRegex(froms[0], r"^FROM swift:6\.(?:[1-9]|\d\d)(?:\.\d+)?-bookworm AS build$")
        self.assertEqual(froms[1], "FROM debian:bookworm-slim")
        runtime = self.instructions[self.instructions.index(froms[1]):]
        self.assertIn("USER 65532:65532", runtime)
        self.assertEqual(runtime[-1], 'ENTRYPOINT ["kube-oidc-proxy"]')
        installs = [i for i in runtime if "apt-get install" in i]
        self.assertEqual(len(installs), 1)
        packages = [w for w in installs[0].split("apt-get install", 1)[1].split("&&")[0].split() if not w.startswith("-")]
        self.assertEqual(packages, ["ca-certificates"], "the runtime holds the binary and CA certificates only")
        copies = [i for i in runtime if i.startswith("COPY")]
        self.assertEqual(copies, ["COPY --from=build /out/kube-oidc-proxy /usr/local/bin/kube-oidc-proxy"])

    def test_build_command(self) -> None:
        build_stage = self.instructions[: [i for i, line in enumerate(self.instructions) if line.startswith("FROM ")][1]]
        self.assertTrue(any(self.BUILD in line for line in build_stage if line.startswith("RUN")), f"no RUN with: {self.BUILD}")

    def test_build_command_matches_readme(self) -> None:
        readme = (ROOT / "README.md").read_text() if (ROOT / "README.md").exists() else ""
        documented = [line.strip() for line in readme.splitlines() if "swift build -c release" in line]
        if not documented:
            self.skipTest("README.md documents no `swift build -c release` line (yet)")
        for line in documented:
            command = re.search(r"swift build -c release[^`#\n]*", line)[0].strip()
            self.assertIn(command, self.text, f"README's build command is not the Dockerfile's: {command}")

    def test_dockerignore(self) -> None:
        entries = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")]
        self.assertIn(".git", entries)
        self.assertTrue(any(e.startswith(".build") for e in entries))
        for needed in ("Sources", "Tests", "Benchmarks", "Package.swift"):
            self.assertNotIn(needed, entries, "Package.swift names these paths; the build needs them")


def main() -> int:
    if shutil.which("openssl") is None:
        print("test_chart: the openssl command is needed (apt-get install openssl)", file=sys.stderr)
        return 2
    started = time.monotonic()
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if "-v" in sys.argv else 1).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"chart tests took {time.monotonic() - started:.1f}s")
    print(f"chart: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
