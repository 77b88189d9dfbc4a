#!/usr/bin/env bash
# ft_services: stands the whole stack up on minikube (default) or on an existing kubectl
# context, behind one MetalLB LoadBalancer IP. `./setup.sh --help` documents everything;
# `./setup.sh --dry-run` prints every command without touching a cluster.
#
# Steps (each announced as `==> [N/10] ...`; a failure names its step and exits non-zero):
#   1 prerequisites   2 cluster   3 addons   4 MetalLB   5 ftinit   6 images
#   7 Secret + ConfigMap   8 srcs/   9 rollouts   10 check   11 summary
#
# Exit codes: 0 done, 1 a step failed, 64 bad command line, 69 a prerequisite is missing.
set -Eeuo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly ROOT
readonly NAMESPACE=ft-services
readonly SERVICES=(nginx wordpress phpmyadmin mysql ftps influxdb grafana)
readonly IMAGE_TAG=ft-services
readonly SECRET_NAME=ft-services-secrets
readonly CONFIGMAP_NAME=ft-services-config
# SECRET_KEYS, the credentials file, srcs/config.env: shared with `./setup.sh local`.
# shellcheck source=scripts/credentials.sh
source "$ROOT/scripts/credentials.sh"
readonly PART_OF=app.kubernetes.io/part-of=ft-services
readonly METALLB_VERSION=v0.14.9
# The official Swift image ftinit is built in when the host has no fitting toolchain.
readonly FTINIT_BUILDER_BASE=swift:6.3.3-bookworm
readonly FTINIT_BUILDER_IMAGE=ft-services-ftinit-builder:6.3.3
# The manifests applied with cluster-admin, each with the sha256 of the file at its tag (git
# show TAG:PATH | sha256sum, read in the projects' repositories): a moved tag or a tampered
# download is refused, never applied. A mirror (an air-gapped install) gives its own URL, and
# its own checksum only if its copy differs.
readonly METALLB_MANIFEST=${METALLB_MANIFEST:-https://raw.githubusercontent.com/metallb/metallb/${METALLB_VERSION}/config/manifests/metallb-native.yaml}
readonly METALLB_MANIFEST_SHA256=${METALLB_MANIFEST_SHA256:-951065e85692aa106f1bb5d5a487d9306154923a794ab1d82122881cbaf588e4}
# Only for --context clusters without a dashboard (minikube has its addon). v2.7.0 is the last
# release with a manifest (aio/deploy/recommended.yaml); from 7.0.0 the project supports only
# its Helm chart, with Kong in front (its README), and minikube's addon runs v2.7.0 too
# (pkg/minikube/assets/addons.go): the same dashboard either way, no Helm needed.
readonly DASHBOARD_MANIFEST=${DASHBOARD_MANIFEST:-https://raw.githubusercontent.com/kubernetes/dashboard/v2.7.0/aio/deploy/recommended.yaml}
readonly DASHBOARD_MANIFEST_SHA256=${DASHBOARD_MANIFEST_SHA256:-943ae40251f1ba64ef012c53271bf6766d1883dd024093e854567b56443764b8}
readonly DASHBOARD_NAMESPACE=kubernetes-dashboard
readonly DASHBOARD_ACCOUNT=ft-services-dashboard
readonly EX_USAGE=64 EX_UNAVAILABLE=69

# Settings (command line, then environment).
ACTION=setup
DRY_RUN=0
NO_CHECK=0
DELETE_ALL=0
DRIVER=${MINIKUBE_DRIVER:-}
DRIVER_GIVEN=0
CONTEXT=""
LB_IP=${LB_IP:-}
PROFILE=${MINIKUBE_PROFILE:-minikube}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-600s}
KCTX=""          # the kubectl context every kubectl command uses
KUBECTL_CLI=(kubectl)  # kubectl, or minikube's own (minikube -p PROFILE kubectl --) when none is installed
KUBECTL=()       # KUBECTL_CLI --context KCTX
CREDENTIALS_FILE=""

usage() {
    cat <<EOF
Usage: ./setup.sh [--dry-run] [--driver NAME] [--context NAME] [--lb-ip ADDR] [--no-check]
       ./setup.sh delete [--all] [--dry-run] [--context NAME]
       ./setup.sh local up|down|status|logs NAME   (./setup.sh local --help)
       ./setup.sh check [--context NAME | --local] [--only|--skip NAMES] [--no-faults]
       ./setup.sh --help

Stands ft_services up: nginx (+ssh), WordPress, phpMyAdmin, MariaDB, FTPS, InfluxDB and
Grafana, each in its own image, all public services behind one MetalLB LoadBalancer IP.
Idempotent: run it again to apply changes; data (PersistentVolumeClaims) and the
generated passwords (Secret $SECRET_NAME) are kept.

Options:
  --help          print this help and exit
  --dry-run       print every command (prefixed "+ ") instead of running it; touches no
                  cluster (only the local prerequisite checks run). Values that would come
                  from the cluster appear as placeholders such as <minikube-ip>.
  --driver NAME   minikube driver for a new cluster (docker, podman, kvm2, ...). Default:
                  autodetected in the order docker, podman, kvm2 (or MINIKUBE_DRIVER).
  --context NAME  use this existing kubectl context instead of minikube. Images are then
                  built with the host's docker (kind-* contexts: loaded with kind load).
                  Needs --lb-ip. MetalLB is installed into that cluster.
  --no-check      end without step 10, ./setup.sh check --no-faults (a stack that does not
                  pass it makes setup.sh fail)
  --lb-ip ADDR    the LoadBalancer IP shared by every public service (or env LB_IP).
                  Default on minikube: the node's /24 with last byte 200 (minikube ip
                  192.168.49.2 gives 192.168.49.200), reachable from this host.

Commands:
  delete          remove what setup.sh created: namespace $NAMESPACE (with its data), the
                  MetalLB address pool (and MetalLB itself on minikube), the dashboard login
                  account, the seven images (every tag), images/*/ftinit and the credentials
                  file.
  delete --all    the same, and delete the minikube profile itself.
  local ...       the same images as containers on plain Docker, no Kubernetes
                  (scripts/local-stack; ./setup.sh local --help).
  check ...       the subject's evaluation against the running stack, from this host: a
                  table of PASS/FAIL/SKIP rows (scripts/check; ./setup.sh check --help).

Environment:
  LB_IP                    same as --lb-ip
  MINIKUBE_PROFILE         minikube profile (default: minikube)
  MINIKUBE_DRIVER          same as --driver
  MINIKUBE_START_FLAGS     extra flags for \`minikube start\` (e.g. "--memory=6g --cpus=4")
  ROLLOUT_TIMEOUT          per Deployment rollout wait (default: 600s)
  REACH_TIMEOUT            seconds step 9 tries the public ports before it fails (default: 90)
  FT_SERVICES_CREDENTIALS  credentials file (default: ~/.config/ft-services/credentials-CONTEXT,
                           mode 0600, outside the repository)
  METALLB_MANIFEST, DASHBOARD_MANIFEST
                           where to download those manifests from (a mirror; default: the
                           projects' own, at the pinned tags). Each is applied only when its
                           sha256 is the pinned one, or METALLB_MANIFEST_SHA256 /
                           DASHBOARD_MANIFEST_SHA256 when given.

Needs: minikube and a driver for it (Docker, podman or kvm2), curl; kubectl is used when
installed (otherwise minikube's own). ftinit is built with this host's Swift 6 toolchain when
it fits (Linux, libssl-dev, the nodes' architecture), otherwise in the official Swift image
($FTINIT_BUILDER_BASE) with docker or podman. Supported: Linux hosts; amd64 nodes (the
influxdb image); macOS only with a VM driver whose network the host reaches.

Steps: 1 prerequisites, 2 start minikube (or check the context) and read the nodes'
architecture, 3 addons (dashboard, metrics-server), 4 MetalLB $METALLB_VERSION (its speaker
with $SPEAKER_FLAG, so a single control-plane node announces the IP), 5 build ftinit
(static, nodes' architecture), 6 build the seven images inside the cluster's runtime (no
registry; tagged by content, checked to exist), 7 Secret and ConfigMap, 8 apply srcs/
(kustomize), 9 wait for every rollout, then reach every public port on the LB IP from this
host, 10 ./setup.sh check --no-faults (the subject's checks that restart nothing), 11 print
URLs and credentials.

Exit status: 0 success, 1 a step failed (the message names it), 64 usage error,
69 a prerequisite is missing (the message says how to install it).
EOF
}

# ---------------------------------------------------------------------------------------
# Output, dry-run and errors

exec 3>&1                    # step and command lines go to the real stdout, even from $(...)
STEP_NO=0
STEP_NAME="command line"
TOTAL_STEPS=11

say() { printf '%s\n' "$*" >&3; }
note() { printf '    %s\n' "$*" >&3; }
warn() { printf 'setup.sh: warning: %s\n' "$*" >&2; }

step() {
    STEP_NO=$((STEP_NO + 1))
    STEP_NAME=$1
    say ""
    say "==> [$STEP_NO/$TOTAL_STEPS] $STEP_NAME"
}

where() {
    if ((STEP_NO > 0)); then printf 'step [%s/%s] %s' "$STEP_NO" "$TOTAL_STEPS" "$STEP_NAME"; else printf '%s' "$STEP_NAME"; fi
}

# die [STATUS] MESSAGE: the error, naming the step, then exit (default status 1).
die() {
    local status=1
    if [[ $1 =~ ^[0-9]+$ ]]; then status=$1; shift; fi
    trap - ERR
    printf 'setup.sh: error: %s: %s\n' "$(where)" "$*" >&2
    exit "$status"
}

usage_error() {
    printf 'setup.sh: %s\n\n' "$*" >&2
    usage >&2
    exit "$EX_USAGE"
}

on_error() {
    local status=$1 line=$2 command=$3
    trap - ERR
    [[ $command == '"$@"' && -n $LAST_COMMAND ]] && command=$LAST_COMMAND
    # Inside $(...) just leave: the caller's own failure is reported once, by the shell above.
    if ((BASH_SUBSHELL > 0)); then exit "$status"; fi
    printf 'setup.sh: error: %s: %s: failed with status %s (setup.sh line %s)\n' \
        "$(where)" "$command" "$status" "$line" >&2
    exit "$status"
}
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR

dry() { [[ $DRY_RUN == 1 ]]; }

# A command line as text, quoted only where needed.
quote_cmd() {
    local out="" arg
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
            out+="${out:+ }$arg"
        else
            out+="${out:+ }'${arg//\'/\'\\\'\'}'"
        fi
    done
    printf '%s' "$out"
}

LAST_COMMAND=""
show() { LAST_COMMAND=$*; say "+ $*"; }

# run CMD...: prints the command; runs it unless --dry-run.
run() {
    show "$(quote_cmd "$@")"
    dry && return 0
    "$@"
}

# pinned_manifest WHAT URL SHA256 VERB [ARGS...]: `kubectl VERB -f` the manifest at URL, only
# when the downloaded file's sha256 is SHA256; otherwise nothing is done and the run fails
# naming both checksums.
pinned_manifest() {
    local what=$1 url=$2 expected=$3 manifest actual
    shift 3
    show "manifest=\$(mktemp) && curl -fsSL --max-time 120 -o \"\$manifest\" $url && [ sha256 = $expected ] && $(quote_cmd "${KUBECTL[@]}" "$@") -f \"\$manifest\""
    dry && return 0
    manifest=$(mktemp)
    if ! curl -fsSL --max-time 120 -o "$manifest" "$url"; then
        rm -f "$manifest"
        die "could not download the $what manifest $url"
    fi
    actual=$(sha256sum "$manifest")
    actual=${actual%% *}
    if [[ $actual != "$expected" ]]; then
        rm -f "$manifest"
        die "the $what manifest $url has sha256 $actual, not the pinned $expected: not applied (a moved tag, a changed mirror or a tampered download; compare the file with the release before changing the pin)"
    fi
    "${KUBECTL[@]}" "$@" -f "$manifest" || { rm -f "$manifest"; return 1; }
    rm -f "$manifest"
}

# query PLACEHOLDER CMD...: a read from the cluster. Prints the command; its output, or in a
# dry run the placeholder (the cluster is never asked).
query() {
    local placeholder=$1
    shift
    show "$(quote_cmd "$@")"
    if dry; then printf '%s' "$placeholder"; return 0; fi
    "$@"
}

# apply_created KUBECTL-CREATE-ARGS...: `kubectl create ... --dry-run=client -o yaml`,
# labelled part-of=ft-services, then applied: creates the object or updates it on re-runs.
apply_created() {
    show "$(quote_cmd "${KUBECTL_CLI[@]}" create "$@" --dry-run=client -o yaml)" \
        "| $(quote_cmd "${KUBECTL_CLI[@]}" label --local -f - "$PART_OF" -o yaml)" \
        "| $(quote_cmd "${KUBECTL[@]}" apply --server-side --field-manager=ft-services-setup -f -)"
    dry && return 0
    "${KUBECTL_CLI[@]}" create "$@" --dry-run=client -o yaml |
        "${KUBECTL_CLI[@]}" label --local -f - "$PART_OF" -o yaml |
        "${KUBECTL[@]}" apply --server-side --field-manager=ft-services-setup -f -
}

# retry TIMES DELAY CMD...: for the moments a webhook is not serving yet.
retry() {
    local times=$1 delay=$2 attempt
    shift 2
    for ((attempt = 1; ; attempt++)); do
        if "$@"; then return 0; fi
        ((attempt >= times)) && return 1
        note "(attempt $attempt/$times failed; retrying in ${delay}s)"
        sleep "$delay"
    done
}

# ---------------------------------------------------------------------------------------
# Command line

parse_args() {
    local given_context=0
    while (($# > 0)); do
        case $1 in
            -h | --help) usage; exit 0 ;;
            --dry-run) DRY_RUN=1 ;;
            --no-check) NO_CHECK=1 ;;
            --all) DELETE_ALL=1 ;;
            --driver | --context | --lb-ip)
                if (($# < 2)) || [[ -z $2 || $2 == -* ]]; then usage_error "option $1 needs a value"; fi
                set_option "$1" "$2"
                shift ;;
            --driver=* | --context=* | --lb-ip=*) set_option "${1%%=*}" "${1#*=}" ;;
            delete)
                [[ $ACTION == setup ]] || usage_error "delete given twice"
                ACTION=delete ;;
            *) usage_error "unknown option or command: $1" ;;
        esac
        shift
    done
    [[ -n $CONTEXT ]] && given_context=1
    if ((DELETE_ALL)) && [[ $ACTION != delete ]]; then usage_error "--all goes with delete"; fi
    if ((given_context)) && ((DRIVER_GIVEN)); then usage_error "--driver is for minikube; it cannot go with --context"; fi
    if ((given_context)) && ((DELETE_ALL)); then usage_error "delete --all deletes a minikube profile; it cannot go with --context"; fi
    if ((given_context)) && [[ $ACTION == setup && -z $LB_IP ]]; then
        usage_error "--context needs --lb-ip ADDR (or LB_IP=ADDR): a free address on the nodes' network that this host can reach"
    fi
    if [[ -n $LB_IP ]] && ! valid_ipv4 "$LB_IP"; then usage_error "--lb-ip: not an IPv4 address: $LB_IP"; fi
    if ((given_context)); then KCTX=$CONTEXT; else KCTX=$PROFILE; fi
    KUBECTL=("${KUBECTL_CLI[@]}" --context "$KCTX")
}

set_option() {
    case $1 in
        --driver) DRIVER=$2; DRIVER_GIVEN=1 ;;
        --context) CONTEXT=$2 ;;
        --lb-ip) LB_IP=$2 ;;
    esac
}

valid_ipv4() {
    local IFS=. part
    local -a parts
    [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
    read -ra parts <<<"$1"
    for part in "${parts[@]}"; do ((10#$part <= 255)) || return 1; done
}

# ---------------------------------------------------------------------------------------
# Step 1: prerequisites

host_arch() {
    local machine
    machine=$(uname -m)
    case $machine in
        x86_64 | amd64) echo amd64 ;;
        aarch64 | arm64) echo arm64 ;;
        *) echo "$machine" ;;
    esac
}

have() { command -v "$1" >/dev/null 2>&1; }

docker_usable() { have docker && docker info >/dev/null 2>&1; }
podman_usable() { have podman && podman info >/dev/null 2>&1; }

detect_driver() {
    if docker_usable; then echo docker
    elif podman_usable; then echo podman
    elif have virsh && [[ -e /dev/kvm ]]; then echo kvm2
    else return 1
    fi
}

# The one OS setup.sh runs on as it is. Darwin works only with a minikube driver whose node
# network the host reaches (minikube's NeedsPortForward: docker and podman on macOS never do).
check_host_os() {
    local os
    os=$(uname -s)
    case $os in
        Linux) note "host: Linux $(uname -m)" ;;
        Darwin)
            note "host: macOS $(uname -m)"
            warn "on macOS the minikube node's network (and so the LB IP) is not reachable from this host with the docker or podman driver (minikube: \"the Node IP is not reachable directly\"): use a VM driver with a host network (e.g. --driver vfkit or qemu with socket_vmnet), or a Linux host. Only Linux is tested." ;;
        *) die "$EX_UNAVAILABLE" "this host is $os: setup.sh supports Linux (amd64, arm64), and macOS with a VM driver. On Windows, run it on a Linux machine or VM (minikube's docker driver under WSL2 does not make the LB IP reachable)" ;;
    esac
}

# The ways ftinit can be built here: with this host's toolchain (Swift 6 and static OpenSSL on
# Linux; step 5 uses it when it also matches the nodes' architecture), or in the official Swift
# image under docker or podman. Appends to ARRAY what is missing when neither is available.
FTINIT_HOST_TOOLCHAIN=0  # 1: the host's toolchain fits
HOST_TOOLCHAIN_LACKS=""  # else what it lacks, for the messages
CONTAINER_CLI=""         # docker or podman, when one answers
check_ftinit_builders() {
    local -n needs=$1
    local version tool
    local -a lacking=()
    [[ $(uname -s) == Linux ]] || lacking+=("a Linux host (ftinit is a static Linux binary)")
    if ! have swift; then
        lacking+=("a Swift toolchain")
    else
        version=$(swift --version 2>&1 | sed -n 's/.*Swift version \([0-9][0-9]*\)\..*/\1/p' | head -n 1)
        if [[ -z $version ]] || ((version < 6)); then lacking+=("Swift 6 or later (swift --version reports ${version:-no version})"); fi
    fi
    if ! have pkg-config || ! pkg-config --exists openssl; then lacking+=("libssl-dev (pkg-config finds no openssl)"); fi
    for tool in make strip file; do have "$tool" || lacking+=("$tool"); done
    if ((${#lacking[@]} == 0)); then
        FTINIT_HOST_TOOLCHAIN=1
    else
        HOST_TOOLCHAIN_LACKS=$(printf '%s, ' "${lacking[@]}")
        HOST_TOOLCHAIN_LACKS=${HOST_TOOLCHAIN_LACKS%, }
    fi

    if docker_usable; then CONTAINER_CLI=docker
    elif podman_usable; then CONTAINER_CLI=podman
    fi
    if ((FTINIT_HOST_TOOLCHAIN == 0)) && [[ -z $CONTAINER_CLI ]]; then
        needs+=("a way to build ftinit: Docker (or podman) to build it in the official Swift image (https://docs.docker.com/engine/install/), or a host toolchain, which lacks here: $HOST_TOOLCHAIN_LACKS (Swift 6: https://www.swift.org/install/linux/, then sudo apt-get install libssl-dev pkg-config make binutils file)")
    fi
    return 0
}

# influxdb: InfluxData's static 1.8 build exists for amd64 only (images/influxdb/Dockerfile).
readonly SUPPORTED_NODE_ARCHS="amd64"
check_node_arch() {
    local arch=$1 where=$2
    [[ " $SUPPORTED_NODE_ARCHS " == *" $arch "* ]] && return 0
    die "$EX_UNAVAILABLE" "$where is $arch: the influxdb image uses InfluxData's static InfluxDB 1.8 build, published for amd64 only (Alpine 3.22 packages no influxdb), so the stack runs on amd64 nodes only"
}

check_prerequisites() {
    local -a missing=()
    local arch
    arch=$(host_arch)
    check_host_os

    if [[ -z $CONTEXT ]]; then
        have minikube || missing+=("minikube: not found on PATH. Install it: curl -LO https://github.com/kubernetes/minikube/releases/latest/download/minikube-linux-$arch && sudo install minikube-linux-$arch /usr/local/bin/minikube (https://minikube.sigs.k8s.io/docs/start/), or use an existing cluster with --context NAME --lb-ip ADDR")
    fi
    if have kubectl; then
        KUBECTL_CLI=(kubectl)
    elif [[ -z $CONTEXT ]] && have minikube; then
        # minikube brings a kubectl of the cluster's version (fetched once into ~/.minikube).
        KUBECTL_CLI=(minikube -p "$PROFILE" kubectl --)
    else
        missing+=("kubectl: not found on PATH. Install it: curl -LO \"https://dl.k8s.io/release/\$(curl -Ls https://dl.k8s.io/release/stable.txt)/bin/linux/$arch/kubectl\" && sudo install kubectl /usr/local/bin/kubectl (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/)")
    fi
    KUBECTL=("${KUBECTL_CLI[@]}" --context "$KCTX")

    if [[ $ACTION == setup ]]; then
        have curl || missing+=("curl: not found; step 9 reaches every public port with it. Install it: sudo apt-get install curl")
        ((NO_CHECK)) || have python3 || missing+=("python3: not found; step 10 (./setup.sh check) is a Python 3 program. Install it: sudo apt-get install python3 (or skip the step: --no-check)")
        if [[ -n $CONTEXT ]]; then
            docker_usable || missing+=("docker: with --context the images are built with this host's docker, and \`docker info\` failed. Install Docker Engine (https://docs.docker.com/engine/install/), start it (sudo systemctl start docker) and join the docker group (sudo usermod -aG docker \$USER, then log in again)")
        else
            check_driver missing
            warn_unreachable_driver
            # minikube's nodes run on this host's architecture.
            ((${#missing[@]} > 0)) || check_node_arch "$arch" "this host (minikube's node runs on it)"
        fi
        check_ftinit_builders missing
    fi

    if ((${#missing[@]} > 0)); then
        local item
        for item in "${missing[@]}"; do printf 'setup.sh: missing prerequisite: %s\n' "$item" >&2; done
        die "$EX_UNAVAILABLE" "${#missing[@]} prerequisite(s) missing, listed above"
    fi
    note "kubectl: $(quote_cmd "${KUBECTL_CLI[@]}")$([[ ${KUBECTL_CLI[0]} == kubectl ]] && printf ' (%s)' "$(command -v kubectl)")"
    if [[ -z $CONTEXT ]]; then
        local driver_text=""
        [[ $ACTION == setup ]] && driver_text=", driver: ${DRIVER:-"the existing profile's"}"
        note "minikube: $(command -v minikube)$driver_text"
    fi
    if [[ $ACTION == setup ]]; then
        if ((FTINIT_HOST_TOOLCHAIN)); then
            note "ftinit: built with this host's $(swift --version 2>&1 | head -n 1), OpenSSL $(pkg-config --modversion openssl 2>/dev/null || echo found)"
        else
            note "ftinit: built in the container image $FTINIT_BUILDER_BASE with $CONTAINER_CLI (no host toolchain: $HOST_TOOLCHAIN_LACKS)"
        fi
    fi
    return 0
}

# minikube's docker driver on Docker Desktop or a rootless engine forwards ports instead of
# routing to the node (minikube pkg/drivers: NeedsPortForward): the LB IP is then unreachable.
warn_unreachable_driver() {
    local info
    [[ $DRIVER == docker || $DRIVER == podman ]] || return 0
    info=$("$DRIVER" info --format '{{.OperatingSystem}} {{.SecurityOptions}}' 2>/dev/null) || return 0
    case $info in
        *"Docker Desktop"* | *rootless*)
            warn "the $DRIVER engine here is Docker Desktop or rootless ($info): minikube's node network, and so the LB IP, is not reachable from this host with it (step 9 will say so). A rootful engine on Linux, or --driver kvm2, gives a reachable LB IP." ;;
    esac
    return 0
}

# check_driver ARRAY: appends to ARRAY what is missing for the minikube driver.
check_driver() {
    local -n out=$1
    if ((DRIVER_GIVEN)) || [[ -n $DRIVER ]]; then
        case $DRIVER in
            docker) docker_usable || out+=("driver docker: \`docker info\` failed. Install Docker Engine (https://docs.docker.com/engine/install/), start it (sudo systemctl start docker) and join the docker group (sudo usermod -aG docker \$USER, then log in again)") ;;
            podman) have podman || out+=("driver podman: podman not found. Install it: sudo apt-get install podman") ;;
            kvm2) { have virsh && [[ -e /dev/kvm ]]; } || out+=("driver kvm2: needs libvirt (virsh) and /dev/kvm. Install: sudo apt-get install qemu-kvm libvirt-daemon-system && sudo usermod -aG libvirt \$USER") ;;
            *) warn "driver $DRIVER is not checked here; minikube will say if it cannot use it" ;;
        esac
        return 0
    fi
    if ! DRIVER=$(detect_driver); then
        DRIVER=""
        out+=("a minikube driver: none of docker (daemon reachable), podman, kvm2 (virsh and /dev/kvm) works here. Install Docker Engine (https://docs.docker.com/engine/install/, then sudo usermod -aG docker \$USER and log in again), or podman (sudo apt-get install podman), or choose one with --driver NAME")
    fi
    return 0
}

# ---------------------------------------------------------------------------------------
# Step 2: the cluster and the LoadBalancer IP

start_cluster() {
    local state node_ip
    if [[ -n $CONTEXT ]]; then
        query "" "${KUBECTL[@]}" cluster-info >/dev/null ||
            die "kubectl context $CONTEXT does not answer (see \`kubectl config get-contexts\`)"
        note "LB IP: $LB_IP (given)"
        read_node_archs
        return 0
    fi
    state=$(query "<not asked in a dry run>" minikube -p "$PROFILE" status --format '{{.Host}}/{{.APIServer}}' 2>/dev/null) || true
    state=$(printf '%s' "$state" | head -n 1)
    if [[ $state == Running/Running ]]; then
        note "minikube profile $PROFILE is running: kept as it is"
    else
        local -a flags=(start -p "$PROFILE")
        local -a extra=()
        read -ra extra <<<"${MINIKUBE_START_FLAGS:-}"
        # A new profile gets the detected driver; an existing one keeps its own unless told.
        if [[ $state != Stopped/* && $state != Paused/* ]] || ((DRIVER_GIVEN)); then
            [[ -n $DRIVER ]] && flags+=("--driver=$DRIVER")
        fi
        # A network plugin that enforces NetworkPolicy (srcs/network-policies.yaml): minikube's
        # default one does not. A profile that exists keeps the plugin it was made with.
        [[ $state == Stopped/* || $state == Paused/* ]] || flags+=(--cni=calico)
        dry && note "(dry run: minikube start runs only when the profile is not running)"
        run minikube "${flags[@]}" "${extra[@]}" || die "minikube start failed (see its output above; \`minikube logs\` has more)"
    fi
    node_ip=$(query "<minikube-ip>" minikube -p "$PROFILE" ip)
    if [[ -n $LB_IP ]]; then
        note "LB IP: $LB_IP (given)"
    elif dry; then
        LB_IP="<lb-ip>"
        note "LB IP: <lb-ip> (dry run: the minikube ip with its last byte set to 200, e.g. 192.168.49.2 -> 192.168.49.200)"
    else
        valid_ipv4 "$node_ip" || die "\`minikube ip\` printed '$node_ip', not an IPv4 address"
        LB_IP=$(lb_ip_from_node "$node_ip")
        note "LB IP: $LB_IP (minikube ip $node_ip, same /24, last byte 200; choose another with --lb-ip)"
    fi
    if ! dry && [[ $LB_IP == "$node_ip" ]]; then die "the LB IP $LB_IP is the node's own address; choose another with --lb-ip"; fi
    read_node_archs
    return 0
}

# NODE_ARCH: the nodes' one architecture (amd64, arm64), checked before anything is installed.
NODE_ARCH=""
read_node_archs() {
    local archs
    archs=$(query "<node-arch>" "${KUBECTL[@]}" get nodes -o 'jsonpath={range .items[*]}{.status.nodeInfo.architecture}{"\n"}{end}')
    if dry; then
        NODE_ARCH=$(host_arch)
        note "(dry run: nodes not asked; taken to be $NODE_ARCH like this host)"
        return 0
    fi
    archs=$(printf '%s\n' "$archs" | sed '/^$/d' | sort -u | paste -sd ' ' -)
    [[ -n $archs ]] || die "the cluster lists no node (kubectl get nodes)"
    [[ $archs != *" "* ]] || die "the cluster's nodes mix architectures ($archs): every image is built once, for one architecture"
    check_node_arch "$archs" "the cluster's node architecture"
    NODE_ARCH=$archs
    note "nodes: $NODE_ARCH"
}

# The node's /24 with last byte 200: on minikube's docker/podman network (192.168.49.0/24)
# addresses are handed out from .2 up, so .200 stays free and is reachable from the host.
lb_ip_from_node() {
    local ip=$1 last=200
    [[ ${ip##*.} == 200 ]] && last=201
    printf '%s.%s' "${ip%.*}" "$last"
}

# ---------------------------------------------------------------------------------------
# Step 3: addons (dashboard, metrics-server) and the dashboard login account

enable_addons() {
    if [[ -z $CONTEXT ]]; then
        run minikube -p "$PROFILE" addons enable metrics-server
        run minikube -p "$PROFILE" addons enable dashboard
    else
        local present
        present=$(query "<unknown>" "${KUBECTL[@]}" get namespace "$DASHBOARD_NAMESPACE" --ignore-not-found -o name)
        if [[ -z $present ]] || dry; then
            dry && note "(dry run: the dashboard manifest is applied only when namespace $DASHBOARD_NAMESPACE does not exist)"
            pinned_manifest dashboard "$DASHBOARD_MANIFEST" "$DASHBOARD_MANIFEST_SHA256" apply
        else
            note "namespace $DASHBOARD_NAMESPACE exists: the cluster's dashboard is kept"
        fi
        note "metrics-server: not installed on --context clusters (use the cluster's own, if any)"
    fi
    # A read-only (ClusterRole view) account to log into the dashboard with a token.
    apply_created serviceaccount "$DASHBOARD_ACCOUNT" -n "$DASHBOARD_NAMESPACE"
    apply_created clusterrolebinding "$DASHBOARD_ACCOUNT" --clusterrole=view \
        "--serviceaccount=$DASHBOARD_NAMESPACE:$DASHBOARD_ACCOUNT"
}

# ---------------------------------------------------------------------------------------
# Step 4: MetalLB

install_metallb() {
    pinned_manifest MetalLB "$METALLB_MANIFEST" "$METALLB_MANIFEST_SHA256" apply
    announce_from_control_plane
    run "${KUBECTL[@]}" -n metallb-system rollout status deployment/controller --timeout=300s ||
        die "MetalLB's controller did not become ready (kubectl -n metallb-system get pods)"
    run "${KUBECTL[@]}" -n metallb-system rollout status daemonset/speaker --timeout=300s ||
        die "MetalLB's speaker did not become ready (kubectl -n metallb-system get pods)"
}

# kubeadm labels every control-plane node node.kubernetes.io/exclude-from-external-load-balancers
# (cmd/kubeadm/app/phases/markcontrolplane), minikube's one node included, and MetalLB's L2
# speaker announces nothing from such a node (metallb v0.14.9 speaker/layer2_controller.go,
# logged at debug level only): the IP is assigned and never answers ARP. The speaker's own
# --ignore-exclude-lb (since v0.14.4; metallb-native.yaml does not pass it) is used rather
# than removing the label: it changes MetalLB only, not what the nodes tell other load
# balancers of a --context cluster, and kubeadm cannot put it back on a restart or a new node.
# Re-applying the manifest drops the flag again, so it is added whenever it is missing.
readonly SPEAKER_FLAG=--ignore-exclude-lb
announce_from_control_plane() {
    local args
    args=$(query "" "${KUBECTL[@]}" -n metallb-system get daemonset speaker -o 'jsonpath={.spec.template.spec.containers[0].args}')
    if [[ $args == *"$SPEAKER_FLAG"* ]] && ! dry; then
        note "MetalLB's speaker already runs with $SPEAKER_FLAG"
        return 0
    fi
    run "${KUBECTL[@]}" -n metallb-system patch daemonset speaker --type=json \
        -p "[{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/args/-\",\"value\":\"$SPEAKER_FLAG\"}]" ||
        die "could not add $SPEAKER_FLAG to MetalLB's speaker (kubectl -n metallb-system get daemonset speaker -o yaml)"
}

# ---------------------------------------------------------------------------------------
# Step 5: ftinit, static, for the nodes' architecture

# FTINIT_BUILT: the stripped binary this step made.
FTINIT_BUILT=""
build_ftinit() {
    local host service
    host=$(host_arch)
    if ((FTINIT_HOST_TOOLCHAIN)) && [[ $NODE_ARCH == "$host" ]]; then
        note "with this host's toolchain (nodes: $NODE_ARCH)"
        run make ftinit || die "building ftinit failed (make ftinit; see the compiler output above)"
        FTINIT_BUILT=.build/ftinit
    else
        if ((FTINIT_HOST_TOOLCHAIN)); then
            note "this host is $host and the nodes are $NODE_ARCH: building in $FTINIT_BUILDER_BASE for linux/$NODE_ARCH"
        else
            note "no fitting toolchain here ($HOST_TOOLCHAIN_LACKS): building in $FTINIT_BUILDER_BASE for linux/$NODE_ARCH"
        fi
        build_ftinit_in_container "$NODE_ARCH"
        FTINIT_BUILT=.build-linux-$NODE_ARCH/ftinit
    fi
    for service in "${SERVICES[@]}"; do
        run install -m 0755 "$FTINIT_BUILT" "images/$service/ftinit"
    done
}

# The official Swift image plus libssl-dev, file and make (scripts/ftinit-builder.Dockerfile),
# then `make ftinit` in it on this checkout, as this host's user so that the build directory
# (.build-linux-ARCH, kept for the next, incremental run) stays the user's own.
build_ftinit_in_container() {
    local arch=$1
    [[ $arch == "$(host_arch)" ]] ||
        warn "building for linux/$arch on a $(host_arch) host runs the compiler under emulation (binfmt/QEMU; Docker Desktop has it, Docker Engine needs it installed): slow, and the Swift compiler may crash under it; a $arch host builds natively"
    note "(the first run pulls $FTINIT_BUILDER_BASE, about 1 GB, and compiles for a few minutes)"
    show "$(quote_cmd "$CONTAINER_CLI" build --platform "linux/$arch" -t "$FTINIT_BUILDER_IMAGE" -) <scripts/ftinit-builder.Dockerfile"
    dry || "$CONTAINER_CLI" build --platform "linux/$arch" -t "$FTINIT_BUILDER_IMAGE" - <scripts/ftinit-builder.Dockerfile ||
        die "building the Swift toolchain image failed (see $CONTAINER_CLI's output above)"
    run "$CONTAINER_CLI" run --rm --platform "linux/$arch" --user "$(id -u):$(id -g)" -e HOME=/tmp \
        -v "$ROOT:/src" -w /src "$FTINIT_BUILDER_IMAGE" make ftinit "BUILD=.build-linux-$arch" ||
        die "building ftinit in $FTINIT_BUILDER_IMAGE failed (see the compiler output above)"
}

# ---------------------------------------------------------------------------------------
# Step 6: the seven images, inside the cluster's container runtime

# Each image is tagged by the hash of its build context (ftinit included): an unchanged image
# is not built again, a changed one gets a new tag, so its Deployment's pod template changes
# and Kubernetes rolls it (step 8 writes the tags into the rendered srcs/), and a build that
# failed can never leave an older image in its place: the new tag must exist afterwards.
declare -A IMAGE_REFS=()
build_images() {
    local service ref existing i=0 kind_cluster=""
    [[ $CONTEXT == kind-* ]] && have kind && kind_cluster=${CONTEXT#kind-}
    existing=$(runtime_images)
    for service in "${SERVICES[@]}"; do
        i=$((i + 1))
        ref="$service:$IMAGE_TAG-$(image_hash "$service")"
        IMAGE_REFS[$service]=$ref
        if grep -qxF "$ref" <<<"$existing"; then
            note "[$i/${#SERVICES[@]}] $ref: unchanged, already built"
            continue
        fi
        note "[$i/${#SERVICES[@]}] $ref from images/$service (started $(date +%H:%M:%S))"
        if [[ -z $CONTEXT ]]; then
            # `minikube image build` exits 0 even when the build fails (minikube#12556, #16576:
            # pkg/minikube/machine/build_images.go only logs the error); its output above holds
            # the builder's own message, and the tag's absence tells.
            run minikube -p "$PROFILE" image build -t "$ref" "images/$service" ||
                die "building image $ref failed (see the build output above)"
        else
            run docker build -t "$ref" "images/$service" ||
                die "building image $ref failed (see the build output above)"
            if [[ -n $kind_cluster ]]; then
                run kind load docker-image "$ref" --name "$kind_cluster" ||
                    die "kind load docker-image $ref failed (see its output above)"
            fi
        fi
        dry || grep -qxF "$ref" <<<"$(runtime_images)" ||
            die "building image $ref failed: the cluster's runtime has no $ref after the build (the builder's error is in the build output above)"
    done
}

# The images of the cluster's runtime (minikube) or of this host's docker (--context), as
# NAME:TAG lines (minikube lists local images as docker.io/library/NAME:TAG).
runtime_images() {
    local images
    if [[ -z $CONTEXT ]]; then
        images=$(query "" minikube -p "$PROFILE" image ls --format short) || return 0
    else
        images=$(query "" docker images --format '{{.Repository}}:{{.Tag}}') || return 0
    fi
    printf '%s\n' "${images//docker.io\/library\//}"
}

# Every image setup.sh has built (any content tag), as NAME:TAG lines.
built_images() {
    local service pattern=""
    for service in "${SERVICES[@]}"; do pattern+="${pattern:+|}$service"; done
    grep -E "^($pattern):$IMAGE_TAG(-[0-9a-f]+)?\$" <<<"$(runtime_images)" || true
}

# A short hash of an image's build context (the folder, ftinit included).
image_hash() {
    (cd "images/$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
        sha256sum | cut -c1-16
}

# ---------------------------------------------------------------------------------------
# Step 7: Secret (kept across runs) and ConfigMap

credentials_path() {
    local file
    file=$(credentials_file "$KCTX" 2>&1) || die "$file"
    printf '%s' "$file"
}

create_secrets() {
    local existing key line from_cluster=0 from_file=0 generated=0
    local -A values=()
    local literals=()
    apply_created namespace "$NAMESPACE"
    CREDENTIALS_FILE=$(credentials_path)

    # 1. what the cluster already has (the data was initialised with it), 2. the file,
    # 3. random.
    # shellcheck disable=SC2016 # a go-template, not shell
    existing=$(query "" "${KUBECTL[@]}" -n "$NAMESPACE" get secret "$SECRET_NAME" --ignore-not-found \
        -o 'go-template={{range $k, $v := .data}}{{$k}}={{$v}}{{"\n"}}{{end}}')
    while IFS= read -r line; do
        [[ $line == *=* ]] || continue
        values[${line%%=*}]=$(printf '%s' "${line#*=}" | base64 -d)
    done <<<"$existing"
    for key in "${SECRET_KEYS[@]}"; do [[ -n ${values[$key]:-} ]] && from_cluster=$((from_cluster + 1)); done
    if ! dry; then
        read_credentials "$CREDENTIALS_FILE" values
        from_file=$CREDENTIALS_ADDED
    fi
    complete_credentials values
    generated=$CREDENTIALS_ADDED

    if dry; then
        show "(write $CREDENTIALS_FILE, mode 0600: ${#SECRET_KEYS[@]} keys, kept from the cluster's Secret, else from that file, else random)"
        note "(dry run: the Secret is not read; every key would be kept if it exists)"
    else
        note "passwords: $from_cluster kept from the cluster, $from_file from $CREDENTIALS_FILE, $generated generated"
        write_credentials "$CREDENTIALS_FILE" values
    fi
    apply_created secret generic "$SECRET_NAME" -n "$NAMESPACE" "--from-env-file=$CREDENTIALS_FILE"
    # kubectl takes --from-env-file alone: srcs/config.env goes in as literals, after LB_IP.
    while IFS= read -r line; do literals+=("--from-literal=$line"); done < <(config_values)
    apply_created configmap "$CONFIGMAP_NAME" -n "$NAMESPACE" "--from-literal=LB_IP=$LB_IP" "${literals[@]}"
}

# ---------------------------------------------------------------------------------------
# Step 8: srcs/

# THE place where the LB IP and the image tags reach the manifests (the contract of
# srcs/kustomization.yaml): srcs/lb-ip.yaml is the one file holding the address (192.0.2.10 as
# committed), and kustomize replacements copy it into the Services' annotations, the pods that
# read it and MetalLB's pool. kustomize reads no environment, so a copy of srcs/ gets the real
# address in lb-ip.yaml and, through kustomize's images transformer, step 6's tags.
render_srcs() {
    local work status=0 service
    work=$(mktemp -d)
    cp -R srcs/. "$work/"
    sed "s/^  LB_IP: .*/  LB_IP: $LB_IP/" srcs/lb-ip.yaml >"$work/lb-ip.yaml"
    if ! grep -q "^  LB_IP: $LB_IP\$" "$work/lb-ip.yaml"; then
        rm -rf "$work"
        printf 'setup.sh: srcs/lb-ip.yaml has no "  LB_IP: ..." line to set\n' >&2
        return 1
    fi
    {
        printf '\nimages:\n'
        for service in "${SERVICES[@]}"; do
            printf '  - name: %s\n    newTag: %s\n' "$service" "${IMAGE_REFS[$service]#*:}"
        done
    } >>"$work/kustomization.yaml"
    "${KUBECTL_CLI[@]}" kustomize "$work" || status=$?
    rm -rf "$work"
    return "$status"
}
render_srcs_text() {
    local service tags=""
    for service in "${SERVICES[@]}"; do tags+=" ${IMAGE_REFS[$service]}"; done
    printf '%s' "work=\$(mktemp -d) && cp -R srcs/. \"\$work/\" && sed \"s/^  LB_IP: .*/  LB_IP: $LB_IP/\" srcs/lb-ip.yaml >\"\$work/lb-ip.yaml\" && (images:$tags) >>\"\$work/kustomization.yaml\" && $(quote_cmd "${KUBECTL_CLI[@]}") kustomize \"\$work\""
}

apply_srcs_once() { render_srcs | "${KUBECTL[@]}" apply -f -; }

# Applies srcs/ (MetalLB's pool and advertisement included: their webhook may still be starting,
# hence the retries). A changed image tag or LB IP changes a pod template: Kubernetes replaces
# just those pods.
apply_srcs() {
    local rendered ref
    if [[ ! -f srcs/kustomization.yaml ]]; then
        dry || die "srcs/kustomization.yaml not found in $ROOT"
        note "(dry run: srcs/kustomization.yaml does not exist yet)"
    fi
    show "$(render_srcs_text) | $(quote_cmd "${KUBECTL[@]}" apply -f -)"
    if ! dry; then
        rendered=$(render_srcs) || die "srcs/ does not render (kubectl kustomize; see its message above)"
        [[ $LB_IP == 192.0.2.10 ]] || grep -qF -- "$LB_IP" <<<"$rendered" ||
            die "srcs/ renders without the LB IP $LB_IP (see render_srcs in setup.sh and srcs/lb-ip.yaml)"
        for ref in "${IMAGE_REFS[@]}"; do
            grep -qF -- "image: $ref" <<<"$rendered" || die "srcs/ renders without the image $ref (see render_srcs in setup.sh)"
        done
    fi
    dry || retry 10 6 apply_srcs_once || die "applying srcs/ failed (see kubectl's message above)"
    if [[ -n $CONTEXT ]]; then
        note "NetworkPolicies applied: enforced only if context $CONTEXT's network plugin implements them (Calico, Cilium...)"
    else
        note "NetworkPolicies applied: enforced by Calico on a profile setup.sh made (--cni=calico); an older profile keeps its plugin"
    fi
}

# ---------------------------------------------------------------------------------------
# Step 9: rollouts and the shared IP

wait_rollouts() {
    local service i=0
    for service in "${SERVICES[@]}"; do
        i=$((i + 1))
        wait_rollout "$service" "$i"
    done
    wait_lb_ip
    check_reachable
}

# wait_rollout NAME N: `kubectl rollout status` in slices of 15 s and, between them, what the
# pod is doing (ContainerCreating, CrashLoopBackOff, running but not ready...), so a long first
# boot is never a silent terminal.
wait_rollout() {
    local service=$1 n=$2 limit started waited
    limit=$(seconds_of "$ROLLOUT_TIMEOUT")
    started=$SECONDS
    note "[$n/${#SERVICES[@]}] deployment/$service (up to ${limit}s)"
    show "$(quote_cmd "${KUBECTL[@]}" -n "$NAMESPACE" rollout status "deployment/$service") (in 15 s slices, up to ${limit}s)"
    dry && return 0
    until "${KUBECTL[@]}" -n "$NAMESPACE" rollout status "deployment/$service" --timeout=15s >/dev/null 2>&1; do
        waited=$((SECONDS - started))
        ((waited < limit)) ||
            die "deployment/$service is not ready after ${limit}s ($(pod_state "$service")): kubectl -n $NAMESPACE describe deployment/$service; kubectl -n $NAMESPACE logs deployment/$service"
        note "    ${waited}s: $(pod_state "$service")"
    done
    note "    ready after $((SECONDS - started))s"
}

# What the pods of NAME are doing, on one line.
pod_state() {
    local state
    state=$("${KUBECTL[@]}" -n "$NAMESPACE" get pods -l "app.kubernetes.io/name=$1" -o \
        'jsonpath={range .items[*]}{.metadata.name}: {.status.phase}{range .status.containerStatuses[*]}, ready={.ready}, restarts={.restartCount} {.state.waiting.reason}{.lastState.terminated.reason}{end}; {end}' 2>/dev/null) || true
    printf '%s' "${state:-no pod yet}"
}

# seconds_of 600s|10m|600: ROLLOUT_TIMEOUT in seconds.
seconds_of() {
    case $1 in
        *m) printf '%s' $((10#${1%m} * 60)) ;;
        *s) printf '%s' $((10#${1%s})) ;;
        *) printf '%s' $((10#$1)) ;;
    esac
}

wait_lb_ip() {
    local deadline addresses wrong
    note "checking that every LoadBalancer Service has $LB_IP"
    deadline=$((SECONDS + 120))
    while :; do
        addresses=$(query "" "${KUBECTL[@]}" -n "$NAMESPACE" get services \
            -o 'jsonpath={range .items[?(@.spec.type=="LoadBalancer")]}{.metadata.name}={.status.loadBalancer.ingress[0].ip}{"\n"}{end}')
        dry && return 0
        wrong=$(printf '%s\n' "$addresses" | grep -v "=$LB_IP\$" | sed '/^$/d' | paste -sd ' ' -) || true
        if [[ -n $addresses && -z $wrong ]]; then return 0; fi
        ((SECONDS < deadline)) || die "LoadBalancer Services without $LB_IP after 120s: ${wrong:-none found} (kubectl -n metallb-system logs deployment/controller)"
        sleep 3
    done
}

# The public ports, reached from this host on the LB IP as a browser or a client would: each
# must answer HTTP(S) (any status) or send its banner. Up to REACH_TIMEOUT s (MetalLB's first
# ARP answer and the Services' endpoints can lag the rollouts by a few seconds).
readonly PUBLIC_PORTS=("80 http" "443 https" "5050 https" "5000 https" "3000 https" "21 banner 220" "22 banner SSH-")
REACH_TIMEOUT=${REACH_TIMEOUT:-90}
check_reachable() {
    local deadline entry port kind expected silent answer
    note "reaching every public port on $LB_IP from this host"
    show "curl each of http://$LB_IP:80 https://$LB_IP:443 :5050 :5000 :3000, and the banners of $LB_IP:21 (220) and :22 (SSH-)"
    dry && return 0
    deadline=$((SECONDS + REACH_TIMEOUT))
    while :; do
        silent=()
        for entry in "${PUBLIC_PORTS[@]}"; do
            read -r port kind expected <<<"$entry"
            if [[ $kind == banner ]]; then
                # curl's telnet:// prints what the server sends first; --max-time ends the wait.
                answer=$(curl -s --max-time 3 "telnet://$LB_IP:$port" </dev/null 2>/dev/null) || true
                [[ $answer == "$expected"* ]] || silent+=("$port (no ${expected%-} banner${answer:+; got: ${answer%%$'\r'*}})")
            else
                answer=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "$kind://$LB_IP:$port/" 2>/dev/null) || true
                [[ $answer =~ ^[1-5][0-9][0-9]$ ]] || silent+=("$port ($kind: no answer)")
            fi
        done
        if ((${#silent[@]} == 0)); then
            note "ports 80 443 5050 5000 3000 21 22 answer on $LB_IP"
            return 0
        fi
        if ((SECONDS >= deadline)); then
            printf 'setup.sh: not reachable on %s from this host: %s\n' "$LB_IP" "${silent[*]}" >&2
            die "$(unreachable_causes)"
        fi
        sleep 5
    done
}

# The likely causes, most likely first, for the message of an unreachable LB IP.
unreachable_causes() {
    local causes="the pods are ready, yet ports of $LB_IP do not answer here. Likely causes: (1) MetalLB does not announce the IP: its speaker skips nodes labelled node.kubernetes.io/exclude-from-external-load-balancers unless run with $SPEAKER_FLAG (step 4 adds it; check: kubectl -n metallb-system get daemonset speaker -o jsonpath='{.spec.template.spec.containers[0].args}', and its logs); (2) this host cannot reach the nodes' network: Docker Desktop (macOS, Windows, WSL2) and rootless docker or podman forward ports instead of routing to the node"
    if [[ -z $CONTEXT ]]; then
        causes+=" (driver here: ${DRIVER:-"the profile's own"}; a rootful docker/podman engine on Linux or --driver kvm2 reaches it)"
    else
        causes+="; on --context clusters, $LB_IP must be a free address on the nodes' own network"
    fi
    printf '%s' "$causes; (3) a firewall between this host and $LB_IP"
}

# ---------------------------------------------------------------------------------------
# Step 10: the subject's checks (scripts/check), those that restart nothing

check_subject() {
    if ((NO_CHECK)); then
        note "skipped (--no-check)"
        return 0
    fi
    run python3 "$ROOT/scripts/check" --context "$KCTX" --lb-ip "$LB_IP" --no-faults ||
        die "the stack does not pass ./setup.sh check (its rows above say what failed); ./setup.sh check --context $KCTX runs it again"
}

# ---------------------------------------------------------------------------------------
# Step 11: what to open

summary() {
    local ip=$LB_IP
    say ""
    say "ft_services is up. LoadBalancer IP: $ip"
    say ""
    say "  nginx                  https://$ip           (its page; http://$ip redirects; /wordpress -> :5050, /phpmyadmin -> phpMyAdmin)"
    say "  WordPress              https://$ip:5050      user admin; editor, author, subscriber (each its own WP_*_PASSWORD)"
    say "  phpMyAdmin             https://$ip:5000      user wordpress (WP_DB_PASSWORD)"
    say "  Grafana                https://$ip:3000      user admin"
    say "  FTPS                   ftps://$ip:21         user ft (explicit TLS; passive ports 30000-30004)"
    say "  SSH                    ssh -p 22 ft@$ip"
    say "  (self-signed certificates: curl -k, or accept the warning in the browser)"
    say ""
    say "Credentials: $CREDENTIALS_FILE (mode 0600), also in the cluster:"
    say "  kubectl --context $KCTX -n $NAMESPACE get secret $SECRET_NAME -o jsonpath='{.data.WP_ADMIN_PASSWORD}' | base64 -d"
    say ""
    say "Kubernetes dashboard:"
    if [[ -z $CONTEXT ]]; then
        # minikube's addon binds the dashboard's own service account to cluster-admin
        # (deploy/addons/dashboard/dashboard-clusterrolebinding.yaml): without a login, the URL is cluster-admin.
        say "  minikube -p $PROFILE dashboard --url        (a local URL; WARNING: without a login it acts as cluster-admin,"
        say "                                              minikube's addon binds it so: log in with the read-only token below)"
    else
        say "  kubectl --context $KCTX -n $DASHBOARD_NAMESPACE port-forward svc/kubernetes-dashboard 8443:443   then https://localhost:8443"
    fi
    say "  login token (read-only account): kubectl --context $KCTX -n $DASHBOARD_NAMESPACE create token $DASHBOARD_ACCOUNT"
    say ""
    say "Tear down: ./setup.sh delete$([[ -n $CONTEXT ]] && printf ' --context %s' "$CONTEXT")   (keeps minikube; delete --all removes it too)"
}

# ---------------------------------------------------------------------------------------
# delete

delete_all() {
    local service state running=1
    TOTAL_STEPS=6
    step "Checking prerequisites"
    check_prerequisites
    if [[ -z $CONTEXT ]] && ! dry; then
        state=$(minikube -p "$PROFILE" status --format '{{.Host}}/{{.APIServer}}' 2>/dev/null) || true
        [[ $(printf '%s' "$state" | head -n 1) == Running/Running ]] || running=0
        if ((running == 0 && DELETE_ALL == 0)); then
            die "minikube profile $PROFILE is not running: start it (minikube -p $PROFILE start) and run delete again, or use delete --all"
        fi
    fi

    step "Removing namespace $NAMESPACE (Deployments, Services, Secrets, data volumes)"
    if ((running)); then
        run "${KUBECTL[@]}" delete namespace "$NAMESPACE" --ignore-not-found --wait=true --timeout=300s
    else
        note "skipped: minikube is not running and its profile is deleted in step 6"
    fi

    step "Removing MetalLB configuration and the dashboard account"
    if ((running)); then
        local crd
        crd=$(query "ipaddresspools.metallb.io" "${KUBECTL[@]}" get crd ipaddresspools.metallb.io --ignore-not-found -o name)
        if [[ -n $crd ]]; then
            run "${KUBECTL[@]}" -n metallb-system delete ipaddresspools.metallb.io,l2advertisements.metallb.io \
                -l "$PART_OF" --ignore-not-found
        fi
        if [[ -z $CONTEXT ]]; then
            pinned_manifest MetalLB "$METALLB_MANIFEST" "$METALLB_MANIFEST_SHA256" delete --ignore-not-found
        else
            note "MetalLB itself is left installed on context $CONTEXT (other workloads may use it)"
        fi
        run "${KUBECTL[@]}" delete clusterrolebinding "$DASHBOARD_ACCOUNT" --ignore-not-found
        run "${KUBECTL[@]}" -n "$DASHBOARD_NAMESPACE" delete serviceaccount "$DASHBOARD_ACCOUNT" --ignore-not-found
    else
        note "skipped: minikube is not running and its profile is deleted in step 6"
    fi

    step "Removing the images"
    if [[ -n $CONTEXT ]] || ((running)); then
        local ref
        for ref in $(built_images); do
            if [[ -n $CONTEXT ]]; then
                run docker rmi -f "$ref" || warn "could not remove $ref"
            else
                run minikube -p "$PROFILE" image rm "$ref" || warn "could not remove $ref"
            fi
        done
    else
        note "skipped: minikube is not running and its profile is deleted in step 6"
    fi

    step "Removing local files (images/*/ftinit, credentials)"
    for service in "${SERVICES[@]}"; do run rm -f "images/$service/ftinit"; done
    run rm -f "$(credentials_path)"

    step "Deleting minikube"
    if ((DELETE_ALL)); then
        run minikube -p "$PROFILE" delete
    else
        note "kept (delete --all removes the minikube profile too)"
    fi
    say ""
    say "ft_services removed."
}

# ---------------------------------------------------------------------------------------

main() {
    case ${1:-} in
        local) exec "$ROOT/scripts/local-stack" "${@:2}" ;;
        check) exec python3 "$ROOT/scripts/check" "${@:2}" ;;
    esac
    parse_args "$@"
    cd "$ROOT"
    dry && say "Dry run: every command is printed, none is run; no cluster is touched."
    if [[ $ACTION == delete ]]; then
        delete_all
        return 0
    fi
    step "Checking prerequisites"
    check_prerequisites
    if [[ -n $CONTEXT ]]; then step "Using kubectl context $CONTEXT"; else step "Starting minikube (profile $PROFILE)"; fi
    start_cluster
    step "Enabling addons (dashboard, metrics-server)"
    enable_addons
    step "Installing MetalLB $METALLB_VERSION"
    install_metallb
    step "Building ftinit (static, for the nodes' architecture)"
    build_ftinit
    step "Building the ${#SERVICES[@]} images inside the cluster's runtime"
    build_images
    step "Creating the Secret and the ConfigMap"
    create_secrets
    step "Applying srcs/ (LB IP $LB_IP)"
    apply_srcs
    step "Waiting for every rollout"
    wait_rollouts
    step "Checking the subject (./setup.sh check --no-faults)"
    check_subject
    step "Done"
    summary
}

main "$@"
