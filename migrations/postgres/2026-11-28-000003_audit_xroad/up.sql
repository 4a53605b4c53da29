-- X-Road headers of a request (client, service, userId, issue, protocolVersion), as received.
ALTER TABLE auditoria ADD COLUMN xroad TEXT;
