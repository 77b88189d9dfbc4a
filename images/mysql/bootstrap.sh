#!/bin/sh
# ftinit task of the mysql image, run as root before mariadbd starts:
#  1. the data and socket directories exist and belong to the server user;
#  2. an empty data dir is initialised with mariadb-install-db, once; existing data is never
#     re-initialised (a dir that holds something else than MariaDB data is refused);
#  3. the accounts from the environment (root password, the WordPress database and user) are
#     written as SQL to the init file mariadbd runs at every start (--init-file, ftinit.conf)
#     before it accepts a connection: no temporary server, so a warm start is the server's own
#     start. The statements are idempotent, so an interrupted first boot heals and a rotated
#     Secret takes effect at the next start.
# The accounts follow MariaDB/mariadb-docker's docker-entrypoint.sh (11.4: docker_setup_db).
set -eu

: "${MYSQL_ROOT_PASSWORD:?is required}" "${WP_DB_NAME:?is required}" "${WP_DB_USER:?is required}"
: "${WP_DB_PASSWORD:?is required}"

conf=/run/mysql/my.cnf
datadir=/var/lib/mysql
rundir=/run/mysqld
init_file=$rundir/init.sql
user=mysql
install_db=/usr/bin/mariadb-install-db

die() {
    echo "error: $*" >&2
    exit 1
}

# Body of a SQL string literal: backslash and single quote escaped.
sql_string() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g"
}

# Body of a `quoted` identifier.
sql_ident() {
    printf '%s' "$1" | sed -e "s/\`/\`\`/g"
}

group=$(id -gn "$user") || die "no user '$user'"
# /run is an emptyDir in the pod: the socket's directory is made at every start.
mkdir -p "$datadir" "$rundir"
chown "$user:$group" "$rundir"
# A fresh volume belongs to root; only what is not the server's yet is changed.
find "$datadir" ! -user "$user" -exec chown "$user:$group" {} +

if [ -d "$datadir/mysql" ]; then
    echo "existing data in $datadir: not re-initialising"
else
    others=$(find "$datadir" -mindepth 1 -maxdepth 1 ! -name lost+found)
    [ -z "$others" ] || die "$datadir is not empty but holds no MariaDB system tables: refusing to initialise over it"
    echo "empty data dir $datadir: initialising with mariadb-install-db"
    # --rpm as mariadb-docker: no host name lookup, no post-install advice in the log.
    "$install_db" --defaults-file="$conf" --user="$user" --datadir="$datadir" --rpm \
        --skip-name-resolve --skip-test-db --auth-root-authentication-method=socket
fi

root_password=$(sql_string "$MYSQL_ROOT_PASSWORD")
db=$(sql_ident "$WP_DB_NAME")
# In GRANT ... ON `db`.*, _ and % are wildcards.
db_grant=$(printf '%s' "$db" | sed -e 's/[_%]/\\&/g')
wp_user=$(sql_string "$WP_DB_USER")
wp_password=$(sql_string "$WP_DB_PASSWORD")
run_user=$(sql_string "$user")
# The passwords are in it: the server user's alone, and renamed into place whole.
umask 077
{
    cat <<'SQL'
SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
DROP USER IF EXISTS ''@'localhost', root@'127.0.0.1', root@'::1';
EXECUTE IMMEDIATE CONCAT("DROP USER IF EXISTS ''@'", @@hostname, "', root@'", @@hostname, "'");
SQL
    # root from inside the container only (the socket): no root@'%' (an older boot's goes).
    printf "ALTER USER root@localhost IDENTIFIED VIA mysql_native_password USING PASSWORD('%s') OR unix_socket;\n" "$root_password"
    printf "DROP USER IF EXISTS root@'%%';\n"
    # The health check logs in as the server's OS user over the socket, with no password.
    printf "CREATE USER IF NOT EXISTS '%s'@localhost IDENTIFIED VIA unix_socket;\n" "$run_user"
    printf "CREATE DATABASE IF NOT EXISTS \`%s\`;\n" "$db"
    printf "CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s';\n" "$wp_user" "$wp_password"
    printf "ALTER USER '%s'@'%%' IDENTIFIED BY '%s';\n" "$wp_user" "$wp_password"
    printf "GRANT ALL PRIVILEGES ON \`%s\`.* TO '%s'@'%%';\n" "$db_grant" "$wp_user"
} >"$init_file.new"
chown "$user:$group" "$init_file.new"
mv -f "$init_file.new" "$init_file"
echo "accounts for mariadbd's --init-file in $init_file: root@localhost, database '$WP_DB_NAME', user '$WP_DB_USER'@'%'"
