// The entity pages' names, shared by the shell (navigation) and the pages.
// ENTITIES describes each page: its Admin API collection, its names as Kong
// Manager writes them, its key (the name shown and searched) and columns.
export const ENTITIES = {
  services: { title: 'Gateway Services', one: 'Gateway Service', key: 'name', columns: ['name', 'protocol', 'host', 'port', 'tags'] },
  routes: { title: 'Routes', one: 'Route', key: 'name', columns: ['name', 'protocols', 'hosts', 'paths', 'tags'] },
  consumers: { title: 'Consumers', one: 'Consumer', key: 'username', columns: ['username', 'custom_id', 'tags'] },
  upstreams: { title: 'Upstreams', one: 'Upstream', key: 'name', columns: ['name', 'algorithm', 'slots', 'tags'] },
  certificates: { title: 'Certificates', one: 'Certificate', key: 'id', columns: ['id', 'snis', 'tags'], skip: ['snis'] },
  snis: { title: 'SNIs', one: 'SNI', key: 'name', columns: ['name', 'certificate', 'tags'] },
  ca_certificates: { title: 'CA Certificates', one: 'CA Certificate', key: 'id', columns: ['id', 'cert_digest', 'tags'] },
};
