-- Named queries of the commerce part (catalog, stock, orders, carts).

-- name: upsert-product
INSERT INTO products (id, doc, updated_at) VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at;

-- name: delete-product-skus
DELETE FROM product_skus WHERE product_id = ?;

-- name: upsert-product-sku
INSERT INTO product_skus (sku, product_id) VALUES (?, ?)
ON CONFLICT (sku) DO UPDATE SET product_id = excluded.product_id;

-- name: product
SELECT doc FROM products WHERE id = ?;

-- name: product-by-sku
SELECT p.doc FROM product_skus s JOIN products p ON p.id = s.product_id WHERE s.sku = ?;

-- name: list-products
SELECT doc FROM products WHERE id > ? ORDER BY id LIMIT ?;

-- name: upsert-location
INSERT INTO locations (id, doc, updated_at) VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at;

-- name: location
SELECT doc FROM locations WHERE id = ?;

-- name: list-locations
SELECT doc FROM locations WHERE id > ? ORDER BY id LIMIT ?;

-- name: known-skus
-- ?1 is a JSON array of SKUs; the ones some product has come back.
SELECT sku FROM product_skus WHERE sku IN (SELECT value FROM json_each(?1));

-- name: known-locations
SELECT id FROM locations WHERE id IN (SELECT value FROM json_each(?1));

-- name: stock-row
SELECT sku, location_id, on_hand, reserved, safety, version, updated_at
FROM stock WHERE sku = ? AND location_id = ?;

-- name: stock-of
SELECT sku, location_id, on_hand, reserved, safety, version, updated_at
FROM stock WHERE sku = ? ORDER BY location_id;

-- name: write-stock
-- Writes a row computed under the writer's lock (the single writer
-- connection serialises every stock change).
INSERT INTO stock (sku, location_id, on_hand, reserved, safety, version, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved,
    safety = excluded.safety, version = excluded.version, updated_at = excluded.updated_at;

-- name: reserve-stock
-- Conditional: holds ?1 units only if that many are available.
UPDATE stock SET reserved = reserved + ?1, version = version + 1, updated_at = ?2
WHERE sku = ?3 AND location_id = ?4 AND on_hand - reserved - safety >= ?1
RETURNING on_hand, reserved, safety, version;

-- name: insert-reservation
INSERT INTO reservations (id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: reservation
SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
FROM reservations WHERE id = ?;

-- name: end-reservation
UPDATE reservations SET status = ?, ended_at = ? WHERE id = ? AND status = 'active';

-- name: due-reservations
SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
FROM reservations WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= ?
ORDER BY expires_at LIMIT ?;

-- name: list-reservations
-- The listing's filters and page are appended (store.ReservationWhere).
SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
FROM reservations

-- name: order-reservations
SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
FROM reservations WHERE order_id = ? AND status = 'active' ORDER BY sku, location_id;

-- name: adjustment-fingerprint
-- No row: the key was never applied.
SELECT COALESCE(fingerprint, '') FROM stock_adjustments WHERE key = ?;

-- name: record-adjustment
INSERT INTO stock_adjustments (key, reason, detail, applied_at, fingerprint) VALUES (?, ?, ?, ?, NULLIF(?, ''));

-- name: insert-order
INSERT INTO orders (id, status, version, customer, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: order
SELECT doc FROM orders WHERE id = ?;

-- name: list-orders
-- The listing's filters and page are appended (store.OrderWhere).
SELECT doc FROM orders

-- name: update-order
UPDATE orders SET status = ?, version = ?, doc = ?, updated_at = ? WHERE id = ? AND version = ?;

-- name: insert-return
INSERT INTO order_returns (id, order_id, doc, created_at) VALUES (?, ?, ?, ?);

-- name: returns-of-order
SELECT doc FROM order_returns WHERE order_id = ? ORDER BY created_at, id;

-- name: cart
SELECT doc FROM carts WHERE customer = ?;

-- name: insert-cart
INSERT INTO carts (customer, version, doc, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (customer) DO NOTHING;

-- name: update-cart
UPDATE carts SET version = ?, doc = ?, updated_at = ? WHERE customer = ? AND version = ?;

-- name: delete-cart
DELETE FROM carts WHERE customer = ?;

-- name: insert-outbox
INSERT INTO commerce_outbox (message_id, event, created_at) VALUES (?, ?, ?);

-- name: outbox
SELECT seq, event, created_at FROM commerce_outbox ORDER BY seq LIMIT ?;

-- name: delete-outbox
DELETE FROM commerce_outbox WHERE seq IN (SELECT value FROM json_each(?));

-- name: insert-key
INSERT INTO commerce_keys (scope, key, fingerprint, resource_id, created_at) VALUES (?, ?, ?, ?, ?);

-- name: key
SELECT fingerprint, resource_id FROM commerce_keys WHERE scope = ? AND key = ?;

-- name: return
SELECT doc FROM order_returns WHERE id = ?;
