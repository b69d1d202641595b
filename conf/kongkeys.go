package conf

import "strings"

// kongKeys names Kong 3.x settings that Portico does not support. They only
// change the wording of Load's warning ("unsupported Kong configuration key"
// rather than "unknown configuration key"), so that an operator can tell a
// Kong setting Portico ignores from a typo. The list need not be complete:
// a Kong key missing here is reported as unknown, nothing worse.
var kongKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`
		proxy_stream_access_log proxy_stream_error_log status_access_log status_error_log
		debug_access_log debug_error_log admin_gui_access_log admin_gui_error_log
		vaults port_maps host_ports proxy_server proxy_server_ssl_verify node_id
		error_template_html error_template_json error_template_xml error_template_plain
		stream_listen debug_listen debug_listen_local cluster_listen cluster_control_plane
		cluster_cert cluster_cert_key cluster_mtls cluster_ca_cert cluster_server_name
		cluster_data_plane_purge_delay cluster_ocsp cluster_max_payload cluster_use_proxy
		cluster_dp_labels cluster_rpc cluster_rpc_sync cluster_full_sync_threshold cluster_cjson
		role worker_events_max_payload
		  client_ssl client_ssl_cert client_ssl_cert_key ssl_ciphers
		 ssl_prefer_server_ciphers ssl_dhparam ssl_session_tickets
		ssl_session_timeout ssl_session_cache_size
		debug_ssl_cert debug_ssl_cert_key  error_default_type
		upstream_keepalive
		nginx_user nginx_daemon nginx_optimizations
		pg_timeout pg_schema pg_ssl pg_ssl_required pg_ssl_verify pg_ssl_version
		pg_ssl_cert pg_ssl_cert_key pg_max_concurrent_queries pg_semaphore_timeout
		pg_keepalive_timeout pg_pool_size pg_backlog pg_ro_host pg_ro_port pg_ro_timeout
		pg_ro_user pg_ro_password pg_ro_database pg_ro_schema pg_ro_ssl pg_ro_ssl_required
		pg_ro_ssl_verify pg_ro_ssl_version pg_ro_max_concurrent_queries
		pg_ro_semaphore_timeout pg_ro_keepalive_timeout pg_ro_pool_size pg_ro_backlog
		db_update_frequency db_update_propagation db_cache_ttl db_cache_neg_ttl
		db_resurrect_ttl db_cache_warmup_entities
		dns_resolver dns_hostsfile dns_order dns_valid_ttl dns_stale_ttl dns_cache_size
		dns_not_found_ttl dns_error_ttl dns_no_sync new_dns_client legacy_dns_client
		resolver_address resolver_hosts_file resolver_family resolver_valid_ttl
		resolver_stale_ttl resolver_error_ttl resolver_lru_cache_size
		worker_consistency worker_state_update_frequency router_flavor router_consistency
		dedicated_config_processing privileged_worker
		lua_max_req_headers lua_max_resp_headers lua_max_uri_args lua_max_post_args
		lua_ssl_trusted_certificate lua_ssl_verify_depth lua_ssl_protocols
		lua_socket_pool_size lua_package_cpath
		openresty_path kic admin_gui_csp_header admin_gui_flags admin_gui_ssl_protocols
		admin_gui_auth_conf admin_gui_auth_password_complexity admin_gui_auth_login_attempts
		admin_gui_header_txt admin_gui_footer_txt admin_gui_login_banner_title admin_gui_login_banner_body
		opentelemetry_tracing opentelemetry_tracing_sampling_rate
		tracing_instrumentations tracing_sampling_rate
		wasm wasm_filters_path wasm_filters request_debug request_debug_token
		concurrency_timeout go_pluginserver_exe go_plugins_dir
	`) {
		m[k] = true
	}
	return m
}()

// kongKeyPrefixes are Kong's dynamic namespaces: any key under them is a
// valid Kong setting (an injected nginx directive, a plugin server or vault
// option).
var kongKeyPrefixes = []string{
	"nginx_main_", "nginx_events_", "nginx_http_", "nginx_upstream_", "nginx_proxy_",
	"nginx_location_", "nginx_status_", "nginx_admin_", "nginx_debug_", "nginx_stream_",
	"nginx_supstream_", "nginx_sproxy_", "nginx_wasm_", "pluginserver_", "vault_",
}

// isKongKey reports whether name is a Kong setting Portico does not support.
func isKongKey(name string) bool {
	if kongKeys[name] {
		return true
	}
	for _, p := range kongKeyPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
