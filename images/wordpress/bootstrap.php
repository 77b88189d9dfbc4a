<?php
/*
 * Bootstrap task of the wordpress image, run by ftinit with the php CLI as the pool user:
 *   php bootstrap.php WORDPRESS_DIR
 * 1. Waits for the database (WP_DB_WAIT seconds, default 120), then loads WordPress.
 * 2. Unless is_blog_installed(): wp_install() with the administrator from WP_ADMIN_USER,
 *    WP_ADMIN_PASSWORD and WP_ADMIN_EMAIL.
 * 3. Makes sure the users editor, author and subscriber exist with those roles, each with the
 *    password of its own variable, WP_EDITOR_PASSWORD and so on
 *    (wp_insert_user(); wp_set_password() for a user whose password no longer matches, so the
 *    Secret and the credentials file always tell the truth, also after an upgrade from one
 *    shared password).
 * Idempotent: it runs at every boot and changes nothing that already matches.
 * No wp-cli, no SQL dump: only WordPress' own installer functions.
 */

declare(strict_types=1);

error_reporting(E_ALL & ~E_DEPRECATED & ~E_USER_DEPRECATED);
ini_set('display_errors', 'stderr');

function say(string $message): void
{
    fwrite(STDOUT, "bootstrap: $message\n");
}

function fail(string $message): never
{
    fwrite(STDERR, "bootstrap: error: $message\n");
    exit(1);
}

function env(string $name): string
{
    $value = getenv($name);
    if ($value === false || $value === '') {
        fail("$name is not set");
    }
    return $value;
}

if ($argc !== 2 || !is_file($argv[1] . '/wp-load.php')) {
    fail('usage: bootstrap.php WORDPRESS_DIR (the directory of wp-load.php)');
}
$dir = rtrim($argv[1], '/');

// 1. The database: same values as wp-config.php (both come from the environment).
$dbHost = env('MYSQL_HOST');
$port = 3306;
if (preg_match('/^(.*):(\d+)$/', $dbHost, $m)) {
    [$dbHost, $port] = [$m[1], (int) $m[2]];
}
$wait = (int) (getenv('WP_DB_WAIT') ?: 120);
$deadline = time() + $wait;
mysqli_report(MYSQLI_REPORT_OFF);
for ($attempt = 1;; $attempt++) {
    $link = mysqli_init();
    $link->options(MYSQLI_OPT_CONNECT_TIMEOUT, 5);
    if (@$link->real_connect($dbHost, env('WP_DB_USER'), env('WP_DB_PASSWORD'), env('WP_DB_NAME'), $port)) {
        $link->close();
        break;
    }
    $error = $link->connect_error ?: (mysqli_connect_error() ?? 'unknown error');
    if (time() >= $deadline) {
        fail("database {$dbHost}:{$port} not usable after {$wait}s: $error");
    }
    if ($attempt === 1 || $attempt % 10 === 0) {
        say("waiting for the database {$dbHost}:{$port}: $error");
    }
    sleep(2);
}
say("database {$dbHost}:{$port} is up");

// WordPress reads the request's host; the CLI has none.
$_SERVER['HTTP_HOST'] = env('LB_IP') . ':5050';
$_SERVER['SERVER_NAME'] = env('LB_IP');
$_SERVER['SERVER_PORT'] = '5050';
$_SERVER['HTTPS'] = 'on';
$_SERVER['REQUEST_URI'] = '/';
// Without this, wp-settings.php would answer "not installed" with a redirect and exit.
define('WP_INSTALLING', true);
require $dir . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

// The bootstrap sends no mail (install notification) and makes no HTTP request (the
// pretty-permalink probe of wp_install() would call the site, which is not up yet).
add_filter('pre_wp_mail', '__return_false');
add_filter('pre_http_request', static fn () => new WP_Error('ft_bootstrap', 'no HTTP during the bootstrap'));

// 2. The site and its administrator, once.
$admin = env('WP_ADMIN_USER');
$adminEmail = env('WP_ADMIN_EMAIL');
if (is_blog_installed()) {
    say('WordPress is already installed');
} else {
    // Slashed as wp-admin/install.php does: WordPress hashes passwords as they arrive in the
    // (slashed) form data, so wp-login.php only matches a password stored the same way.
    wp_install('ft_services', $admin, $adminEmail, true, '', wp_slash(env('WP_ADMIN_PASSWORD')));
    if (!is_blog_installed() || !username_exists($admin)) {
        fail('wp_install() did not install the site');
    }
    say("installed WordPress at " . home_url('/') . " with administrator $admin");
}

// 3. One user per role besides the administrator, each with its own password, slashed like
// form data (wp-admin's edit_user() does the same): what wp-login.php will check against.
$domain = substr((string) strrchr($adminEmail, '@'), 1) ?: 'localhost';
foreach (['editor', 'author', 'subscriber'] as $role) {
    $variable = 'WP_' . strtoupper($role) . '_PASSWORD';
    $existing = get_user_by('login', $role);
    if ($existing) {
        if (!wp_check_password(wp_slash(env($variable)), $existing->user_pass, $existing->ID)) {
            wp_set_password(wp_slash(env($variable)), $existing->ID);
            say("set the password of $role from $variable");
        }
        continue;
    }
    $id = wp_insert_user(wp_slash([
        'user_login' => $role,
        'user_pass' => env($variable),
        'user_email' => "$role@$domain",
        'display_name' => ucfirst($role),
        'role' => $role,
    ]));
    if (is_wp_error($id)) {
        fail("cannot create the user $role: " . $id->get_error_message());
    }
    say("created the user $role ($role)");
}
say('done');
