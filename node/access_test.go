package node

import "testing"

func TestMaskQuery(t *testing.T) {
	names := []string{"Kong-Admin-Token"}
	for _, tt := range []struct{ in, want string }{
		{"/consumers", "/consumers"},
		{"/consumers?size=2", "/consumers?size=2"},
		{"/consumers?Kong-Admin-Token=s3cret", "/consumers?Kong-Admin-Token=******"},
		{"/consumers?size=1&kong-admin-token=s3cret&tags=a", "/consumers?size=1&kong-admin-token=******&tags=a"},
		{"/consumers?Kong%2DAdmin%2DToken=s3cret", "/consumers?Kong%2DAdmin%2DToken=******"},
		{"/consumers?Kong-Admin-Token", "/consumers?Kong-Admin-Token"},
		{"/consumers?x=Kong-Admin-Token", "/consumers?x=Kong-Admin-Token"},
	} {
		if got := string(maskQuery([]byte(tt.in), names)); got != tt.want {
			t.Errorf("maskQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
