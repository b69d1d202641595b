// The entity pages' names, shared by the shell (navigation) and the pages.
// ENTITIES describes each page: its Admin API collection, its names as Kong
// Manager writes them, its key (the name shown and searched) and columns.
// related lists the collections nested under one entity that its detail
// page shows (list, New with the generic form, delete): path is the Admin
// API's /{collection}/{id}/{path}, schema the entity's /schemas name, field
// the foreign field naming the parent (not in the form: it is the page's),
// columns what the list shows (secrets such as basic-auth's hashed password
// or JWT and HMAC secrets are left out), health that GET /{collection}/{id}/health
// reports each row's health, polled while the page is open.
export const ENTITIES = {
  services: { title: 'Gateway Services', one: 'Gateway Service', key: 'name', columns: ['name', 'protocol', 'host', 'port', 'tags'] },
  routes: { title: 'Routes', one: 'Route', key: 'name', columns: ['name', 'protocols', 'hosts', 'paths', 'tags'] },
  consumers: { title: 'Consumers', one: 'Consumer', key: 'username', columns: ['username', 'custom_id', 'tags'],
    related: [
      { path: 'key-auth', schema: 'keyauth_credentials', field: 'consumer', title: 'Key Authentication', one: 'Key Auth Credential', key: 'key', columns: ['key', 'ttl', 'tags'] },
      { path: 'basic-auth', schema: 'basicauth_credentials', field: 'consumer', title: 'Basic Authentication', one: 'Basic Auth Credential', key: 'username', columns: ['username', 'tags'] },
      { path: 'acls', schema: 'acls', field: 'consumer', title: 'ACL Groups', one: 'ACL Group', key: 'group', columns: ['group', 'tags'] },
      { path: 'jwt', schema: 'jwt_secrets', field: 'consumer', title: 'JWT Credentials', one: 'JWT Credential', key: 'key', columns: ['key', 'algorithm', 'tags'] },
      { path: 'hmac-auth', schema: 'hmacauth_credentials', field: 'consumer', title: 'HMAC Authentication', one: 'HMAC Credential', key: 'username', columns: ['username', 'tags'] },
    ] },
  upstreams: { title: 'Upstreams', one: 'Upstream', key: 'name', columns: ['name', 'algorithm', 'slots', 'tags'],
    related: [
      { path: 'targets', schema: 'targets', field: 'upstream', title: 'Targets', one: 'Target', key: 'target', columns: ['target', 'weight', 'tags'], health: true },
    ] },
  certificates: { title: 'Certificates', one: 'Certificate', key: 'id', columns: ['id', 'snis', 'tags'], skip: ['snis'] },
  snis: { title: 'SNIs', one: 'SNI', key: 'name', columns: ['name', 'certificate', 'tags'] },
  ca_certificates: { title: 'CA Certificates', one: 'CA Certificate', key: 'id', columns: ['id', 'cert_digest', 'tags'] },
};
