/** wp's version (kept out of the Prefect client so `wp --help` loads no client code). */
export const WP_VERSION = "0.1.0";
