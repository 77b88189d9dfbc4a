# shellcheck shell=bash
# The stack's settings and passwords, for setup.sh and scripts/local-stack (sourced; ROOT is
# the repository). Passwords live in a credentials file outside the repository (mode 0600,
# KEY=VALUE), are generated once and kept: data initialised with them stays usable.

readonly SECRET_KEYS=(MYSQL_ROOT_PASSWORD WP_DB_PASSWORD WP_ADMIN_PASSWORD WP_EDITOR_PASSWORD
    WP_AUTHOR_PASSWORD WP_SUBSCRIBER_PASSWORD PMA_BLOWFISH_SECRET SSH_PASSWORD FTP_PASSWORD
    INFLUXDB_ADMIN_PASSWORD INFLUXDB_METRICS_PASSWORD INFLUXDB_READER_PASSWORD
    GRAFANA_ADMIN_PASSWORD GRAFANA_SECRET_KEY WP_AUTH_SALT_SEED)

# The KEY=VALUE lines of srcs/config.env: the settings other than passwords.
config_values() {
    grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$ROOT/srcs/config.env"
}

random_secret() {
    local length=$1 value=""
    while ((${#value} < length)); do
        value+=$(head -c 48 /dev/urandom | base64 -w 0 | tr -d '/+=')
    done
    printf '%s' "${value:0:length}"
}

# new_secret KEY: a fresh value of the length KEY needs (phpMyAdmin's blowfish secret: 32 bytes).
new_secret() {
    case $1 in
        PMA_BLOWFISH_SECRET | GRAFANA_SECRET_KEY) random_secret 32 ;;
        WP_AUTH_SALT_SEED) random_secret 48 ;;
        *) random_secret 24 ;;
    esac
}

# credentials_file NAME: FT_SERVICES_CREDENTIALS, or ~/.config/ft-services/credentials-NAME, as
# an absolute path. Fails with a message when that is inside the repository or HOME is unset.
credentials_file() {
    local file=${FT_SERVICES_CREDENTIALS:-}
    if [[ -z $file ]]; then
        [[ -n ${HOME:-} ]] || { echo "HOME is not set: set FT_SERVICES_CREDENTIALS to a file outside the repository" >&2; return 1; }
        file=${XDG_CONFIG_HOME:-$HOME/.config}/ft-services/credentials-$1
    fi
    [[ $file == /* ]] || file=$PWD/$file
    case $file in
        "$ROOT"/*) echo "the credentials file $file is inside the repository; passwords never go there (set FT_SERVICES_CREDENTIALS elsewhere)" >&2; return 1 ;;
    esac
    printf '%s' "$file"
}

# The next two fill the associative array named ARRAY (not in a subshell: call them plainly)
# and leave how many values they added in CREDENTIALS_ADDED. (The namerefs' own names differ
# from every caller's array: a nameref to a variable of its own name is circular.)
CREDENTIALS_ADDED=0

# read_credentials FILE ARRAY: the file's values, for the keys ARRAY has no value for yet.
read_credentials() {
    local -n credentials_into=$2
    local line key
    CREDENTIALS_ADDED=0
    [[ -r $1 ]] || return 0
    while IFS= read -r line; do
        key=${line%%=*}
        [[ $line == *=* && -z ${credentials_into[$key]:-} ]] || continue
        # shellcheck disable=SC2004 # an associative array: the key is a string
        credentials_into[$key]=${line#*=}
        CREDENTIALS_ADDED=$((CREDENTIALS_ADDED + 1))
    done <"$1"
}

# complete_credentials ARRAY: a new value for every secret key ARRAY lacks.
complete_credentials() {
    local -n credentials_into=$1
    local key
    CREDENTIALS_ADDED=0
    for key in "${SECRET_KEYS[@]}"; do
        [[ -z ${credentials_into[$key]:-} ]] || continue
        # shellcheck disable=SC2004 # an associative array: the key is a string
        credentials_into[$key]=$(new_secret "$key")
        CREDENTIALS_ADDED=$((CREDENTIALS_ADDED + 1))
    done
}

# write_credentials FILE ARRAY: the secret keys of ARRAY, written whole or not at all: into a
# file mktemp makes (0600 from its creation, an unpredictable name) beside FILE, renamed over
# it. A directory made here is 0700; one that exists is left as its owner set it.
write_credentials() {
    local -n credentials_from=$2
    local key directory temporary
    directory=$(dirname "$1")
    [[ -d $directory ]] || mkdir -p -m 0700 "$directory"
    temporary=$(mktemp "$directory/.credentials.XXXXXXXX")
    for key in "${SECRET_KEYS[@]}"; do printf '%s=%s\n' "$key" "${credentials_from[$key]}"; done >"$temporary"
    mv -f "$temporary" "$1"
}
