-- Named queries of the commerce part (catalog, stock, orders, carts).

-- name: upsert-products
INSERT INTO products (id, doc, updated_at)
SELECT * FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[])
ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at;

-- name: delete-product-skus
DELETE FROM product_skus WHERE product_id = ANY($1::text[]);

-- name: upsert-product-skus
INSERT INTO product_skus (sku, product_id)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (sku) DO UPDATE SET product_id = excluded.product_id;

-- name: product
SELECT doc FROM products WHERE id = $1;

-- name: products-by-sku
SELECT s.sku, p.doc FROM product_skus s JOIN products p ON p.id = s.product_id WHERE s.sku = ANY($1::text[]);

-- name: list-products
SELECT doc FROM products WHERE id > $1 ORDER BY id LIMIT $2;

-- name: upsert-locations
INSERT INTO locations (id, doc, updated_at)
SELECT * FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[])
ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at;

-- name: location
SELECT doc FROM locations WHERE id = $1;

-- name: list-locations
SELECT doc FROM locations WHERE id > $1 ORDER BY id LIMIT $2;

-- name: known-skus
SELECT sku FROM product_skus WHERE sku = ANY($1::text[]);

-- name: known-locations
SELECT id FROM locations WHERE id = ANY($1::text[]);

-- name: ensure-stock-row
INSERT INTO stock (sku, location_id, updated_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING;

-- name: lock-stock-row
-- The row lock is held until the transaction ends: what is computed from
-- the row cannot be overtaken by another writer.
SELECT sku, location_id, on_hand, reserved, safety, version, updated_at
FROM stock WHERE sku = $1 AND location_id = $2 FOR UPDATE;

-- name: stock-row
SELECT sku, location_id, on_hand, reserved, safety, version, updated_at
FROM stock WHERE sku = $1 AND location_id = $2;

-- name: stock-of
SELECT sku, location_id, on_hand, reserved, safety, version, updated_at
FROM stock WHERE sku = $1 ORDER BY location_id;

-- name: write-stock
UPDATE stock SET on_hand = $3, reserved = $4, safety = $5, version = $6, updated_at = $7
WHERE sku = $1 AND location_id = $2;

-- name: reserve-stock
-- Conditional: PostgreSQL locks the row and re-checks the condition on its
-- latest version, so concurrent reservations never oversell.
UPDATE stock SET reserved = reserved + $1, version = version + 1, updated_at = $2
WHERE sku = $3 AND location_id = $4 AND on_hand - reserved - safety >= $1
RETURNING on_hand, reserved, safety, version;

-- name: insert-reservation
INSERT INTO reservations (id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at)
VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, $8, $9);

-- name: reservation
SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
FROM reservations WHERE id = $1;

-- name: end-reservation
UPDATE reservations SET status = $1, ended_at = $2 WHERE id = $3 AND status = 'active';

-- name: due-reservations
SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
FROM reservations WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= $1
ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED;

-- name: list-reservations
-- The listing's filters and page are appended (store.ReservationWhere).
SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
FROM reservations

-- name: order-reservations
SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
FROM reservations WHERE order_id = $1 AND status = 'active' ORDER BY sku, location_id;

-- name: record-adjustment
INSERT INTO stock_adjustments (key, reason, detail, applied_at, fingerprint) VALUES ($1, $2, $3, $4, NULLIF($5, ''))
ON CONFLICT (key) DO NOTHING;

-- name: insert-order
INSERT INTO orders (id, status, version, customer, doc, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: order
SELECT doc FROM orders WHERE id = $1;

-- name: list-orders
-- The listing's filters and page are appended (store.OrderWhere).
SELECT doc FROM orders

-- name: update-order
UPDATE orders SET status = $1, version = $2, doc = $3, updated_at = $4 WHERE id = $5 AND version = $6;

-- name: insert-return
INSERT INTO order_returns (id, order_id, doc, created_at) VALUES ($1, $2, $3, $4);

-- name: returns-of-order
SELECT doc FROM order_returns WHERE order_id = $1 ORDER BY created_at, id;

-- name: cart
SELECT doc FROM carts WHERE customer = $1;

-- name: lock-cart
SELECT doc FROM carts WHERE customer = $1 FOR UPDATE;

-- name: insert-cart
INSERT INTO carts (customer, version, doc, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (customer) DO NOTHING;

-- name: update-cart
UPDATE carts SET version = $1, doc = $2, updated_at = $3 WHERE customer = $4 AND version = $5;

-- name: delete-cart
DELETE FROM carts WHERE customer = $1;

-- name: set-adjustment-detail
UPDATE stock_adjustments SET detail = $2 WHERE key = $1;

-- name: insert-outbox
INSERT INTO commerce_outbox (message_id, event, created_at)
SELECT * FROM unnest($1::text[], $2::bytea[], $3::timestamptz[]);

-- name: outbox
SELECT seq, event, created_at FROM commerce_outbox ORDER BY seq LIMIT $1;

-- name: delete-outbox
DELETE FROM commerce_outbox WHERE seq = ANY($1);

-- name: insert-key
INSERT INTO commerce_keys (scope, key, fingerprint, resource_id, created_at) VALUES ($1, $2, $3, $4, $5);

-- name: key
SELECT fingerprint, resource_id FROM commerce_keys WHERE scope = $1 AND key = $2;

-- name: return
SELECT doc FROM order_returns WHERE id = $1;

-- name: adjustment-fingerprint
SELECT COALESCE(fingerprint, '') FROM stock_adjustments WHERE key = $1;
