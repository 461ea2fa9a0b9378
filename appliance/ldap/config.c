/*
 * The LDAP connection settings of a node configuration (ldap.*), shared by
 * gatehouse init and the key manager.
 */
#include <string.h>

#include "core/gh_settings.h"
#include "ldap/gh_ldap.h"

void
gh_ldap_config_from_settings(const struct gh_settings *s, struct gh_ldap_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->uri = gh_settings_str(s, "ldap.uri");
	cfg->base_dn = gh_settings_str(s, "ldap.base_dn");
	cfg->bind_dn = gh_settings_str(s, "ldap.bind_dn");
	cfg->bind_password = gh_settings_str(s, "ldap.bind_password");
	cfg->starttls = (int)gh_settings_int(s, "ldap.starttls");
	cfg->ca_file = gh_settings_str(s, "ldap.ca_file");
	cfg->network_timeout_ms = 5000;
	cfg->op_timeout_ms = 10000;
}
