"""Where the stack runs: a Kubernetes cluster (kubectl) or `./setup.sh local` (docker). The
checks speak to the services over the LB IP themselves; a backend answers only what is about
the platform: the Services, a command inside a container, its restarts and readiness."""
import base64
import glob
import json
import os
import re
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMESPACE = "ft-services"


class Unavailable(Exception):
    """The run cannot start: what is missing, and how to get it."""


def run(argv, stdin=None, timeout=60):
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise Unavailable(f"{argv[0]} is not installed")


def settings_file():
    """srcs/config.env as a dict: the settings that are not passwords."""
    values = {}
    with open(os.path.join(ROOT, "srcs", "config.env")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


class Kubernetes:
    """The cluster of kubectl context `context`, namespace ft-services."""

    kind = "cluster"

    def __init__(self, context, lb_ip=None):
        # As setup.sh: kubectl, else minikube's own.
        cli = ["kubectl"] if shutil.which("kubectl") or not shutil.which("minikube") else ["minikube", "-p", context, "kubectl", "--"]
        self.kubectl = cli + ["--context", context]
        self.context = context
        probe = run(self.kubectl + ["-n", NAMESPACE, "get", "configmap", "ft-services-config", "-o", "json"], timeout=30)
        if probe.returncode != 0:
            raise Unavailable(f"no ft_services on kubectl context {context}: {probe.stderr.strip() or 'kubectl failed'} "
                              "(./setup.sh first, or --context NAME)")
        secret = run(self.kubectl + ["-n", NAMESPACE, "get", "secret", "ft-services-secrets", "-o", "json"], timeout=30)
        if secret.returncode != 0:
            raise Unavailable(f"the Secret ft-services-secrets cannot be read: {secret.stderr.strip()}")
        try:
            self.values = json.loads(probe.stdout).get("data", {})
            for key, value in json.loads(secret.stdout).get("data", {}).items():
                self.values[key] = base64.b64decode(value).decode()
        except ValueError as error:
            raise Unavailable(f"kubectl's answer is not the ConfigMap and Secret of ft_services ({error})")
        try:
            services = self.services()
        except ValueError as error:
            raise Unavailable(f"kubectl's list of Services cannot be read ({error})")
        self.lb_ip = lb_ip or next((s["external_ip"] for s in services.values() if s["external_ip"]), None)
        if not self.lb_ip:
            raise Unavailable("no LoadBalancer Service has an external IP yet (MetalLB); give --lb-ip")

    def services(self):
        listed = run(self.kubectl + ["-n", NAMESPACE, "get", "services", "-o", "json"], timeout=30)
        services = {}
        for item in json.loads(listed.stdout or "{}").get("items", []):
            ingress = item.get("status", {}).get("loadBalancer", {}).get("ingress") or [{}]
            ports = item["spec"].get("ports", [])
            services[item["metadata"]["name"]] = {
                "type": item["spec"].get("type"), "ports": [p["port"] for p in ports],
                "node_ports": [p["nodePort"] for p in ports if p.get("nodePort")],
                "external_ip": ingress[0].get("ip")}
        return services

    def exec(self, service, argv, stdin=None, timeout=60):
        return run(self.kubectl + ["-n", NAMESPACE, "exec", "-i", f"deploy/{service}", "-c", service, "--", *argv],
                   stdin=stdin, timeout=timeout)

    def _status(self, service):
        pods = run(self.kubectl + ["-n", NAMESPACE, "get", "pods", "-l", f"app.kubernetes.io/name={service}", "-o", "json"])
        statuses = [s for pod in json.loads(pods.stdout or "{}").get("items", [])
                    if pod.get("metadata", {}).get("deletionTimestamp") is None
                    for s in pod.get("status", {}).get("containerStatuses", []) if s.get("name") == service]
        return statuses[0] if statuses else {}

    def restart_count(self, service):
        return self._status(service).get("restartCount", 0)

    def ready(self, service):
        return bool(self._status(service).get("ready"))

    def dashboard(self):
        """(ok, evidence): the Kubernetes dashboard's Service, and an answer through the API server."""
        found = run(self.kubectl + ["-n", "kubernetes-dashboard", "get", "service", "kubernetes-dashboard", "-o", "name"])
        if found.returncode != 0:
            return False, "no Service kubernetes-dashboard in namespace kubernetes-dashboard"
        page = run(self.kubectl + ["get", "--raw",
                                   "/api/v1/namespaces/kubernetes-dashboard/services/https:kubernetes-dashboard:/proxy/"])
        if page.returncode != 0 and "http:kubernetes-dashboard" not in page.stderr:
            page = run(self.kubectl + ["get", "--raw",
                                       "/api/v1/namespaces/kubernetes-dashboard/services/http:kubernetes-dashboard:/proxy/"])
        answered = page.returncode == 0 and "<html" in page.stdout.lower()
        return answered, "its Service answers through the API server" if answered else f"no page: {page.stderr.strip()[:120]}"


class LocalDocker:
    """The containers of `./setup.sh local` on the Docker of DOCKER_HOST."""

    kind = "local"
    PREFIX = "ft-services-local-"

    def __init__(self, lb_ip=None):
        if run(["docker", "version"], timeout=30).returncode != 0:
            raise Unavailable("no Docker daemon answers (DOCKER_HOST)")
        if run(["docker", "inspect", self.PREFIX + "nginx"]).returncode != 0:
            raise Unavailable("the local stack is not running: ./setup.sh local up")
        subnet = os.environ.get("LOCAL_SUBNET", "172.31.42.0/24")
        self.lb_ip = lb_ip or subnet.rsplit(".", 1)[0] + ".1"
        self.values = settings_file()
        credentials = os.environ.get("FT_SERVICES_CREDENTIALS") or os.path.join(
            os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config"), "ft-services", "credentials-local")
        try:
            with open(credentials) as f:
                self.values.update(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        except OSError as error:
            raise Unavailable(f"the credentials of the local stack cannot be read ({error}): ./setup.sh local up makes them")

    def services(self):
        """The Services as srcs/ declares them, each with the address docker publishes its ports on."""
        services = {}
        for path in sorted(glob.glob(os.path.join(ROOT, "srcs", "*", "service.yaml"))):
            with open(path) as f:
                text = f.read()
            name = re.search(r"^metadata:\n(?:  .*\n)*?  name: (\S+)", text, re.M).group(1)
            inspected = run(["docker", "inspect", "-f", "{{json .NetworkSettings.Ports}}", self.PREFIX + name])
            bindings = json.loads(inspected.stdout) if inspected.returncode == 0 else None
            addresses = {b["HostIp"] for ports in (bindings or {}).values() for b in (ports or [])}
            services[name] = {"type": re.search(r"^  type: (\S+)", text, re.M).group(1),
                              "ports": [int(p) for p in re.findall(r"^      port: (\d+)", text, re.M)],
                              "node_ports": re.findall(r"nodePort: (\d+)", text),
                              "external_ip": ",".join(sorted(addresses)) or None}
        return services

    def exec(self, service, argv, stdin=None, timeout=60):
        return run(["docker", "exec", "-i", self.PREFIX + service, *argv], stdin=stdin, timeout=timeout)

    def restart_count(self, service):
        return int(run(["docker", "inspect", "-f", "{{.RestartCount}}", self.PREFIX + service]).stdout.strip() or 0)

    def ready(self, service):
        # The container's readiness, as its Deployment's readinessProbe asks it.
        return self.exec(service, ["/sbin/ftinit", "probe", "--ready"], timeout=10).returncode == 0

    def dashboard(self):
        return None, "no Kubernetes here: the local stack has no dashboard"
