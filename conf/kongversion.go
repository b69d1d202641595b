package conf

import "strings"

// Kong Enterprise numbers its releases with a fourth component (3.9.1.0)
// and names itself in its server tokens (kong/3.9.1.0-enterprise-edition);
// Kong OSS has three (3.9.1, kong/3.9.1). go-kong and decK read the version
// of GET / to tell them apart (ParseSemanticVersion, IsKongGatewayEnterprise)
// and only use workspaces, RBAC and the other Enterprise endpoints against
// the Enterprise shape, so kong_version chooses what clients see.

// KongEnterprise reports whether kong_version has Kong Enterprise's shape: a
// fourth number ("3.9.1.0") or "enterprise" in its suffix.
func (c *Config) KongEnterprise() bool { return kongEnterprise(c.KongVersion) }

// KongEdition is GET / "edition": "enterprise" or "community".
func (c *Config) KongEdition() string {
	if c.KongEnterprise() {
		return "enterprise"
	}
	return "community"
}

// KongServerTokens is the Server header and the Via token: Kong's
// _SERVER_TOKENS, "kong/3.9.1.0-enterprise-edition" or "kong/3.9.1".
func (c *Config) KongServerTokens() string {
	v := c.KongVersion
	if kongEnterprise(v) && !strings.Contains(v, "enterprise") {
		v += "-enterprise-edition"
	}
	return "kong/" + v
}

func kongEnterprise(v string) bool {
	if strings.Contains(v, "enterprise") {
		return true
	}
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	return strings.Count(v, ".") >= 3
}
