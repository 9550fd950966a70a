/* routes.c - the routing table: every path the service serves, in one place.
 *
 * api-spec/openapi.yaml must document exactly these; `reflectd --routes`
 * prints them and CI compares the two sets. */
#include "handlers.h"

const struct route routes[] = {
    {M_GET, "/healthz", h_healthz, ROUTE_PUBLIC},
    {M_GET, "/readyz", h_readyz, ROUTE_PUBLIC},
    {M_GET, "/metrics", h_metrics, ROUTE_PUBLIC},
};
const size_t routes_count = sizeof(routes) / sizeof(routes[0]);
