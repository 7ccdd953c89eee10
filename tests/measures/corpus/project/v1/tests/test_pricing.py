import os
import tempfile
import unittest

from shopcart import pricing, storage


class PricingTest(unittest.TestCase):
    def test_line_total(self):
        self.assertEqual(pricing.line_total(2.5, 4), 10.0)

    def test_negative_quantity(self):
        with self.assertRaises(ValueError):
            pricing.line_total(1.0, -1)

    def test_discount_codes(self):
        self.assertEqual(pricing.discount(100.0, None), 100.0)
        self.assertEqual(pricing.discount(100.0, "WELCOME10"), 90.0)

    def test_tax(self):
        self.assertEqual(pricing.with_tax(100.0, "DE"), 119.0)


class StorageTest(unittest.TestCase):
    def test_save_and_load(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "cart.bin")
            storage.save({"apple": 2}, path)
            self.assertEqual(storage.load(path), {"apple": 2})
            self.assertTrue(storage.checksum(path).isdigit())


if __name__ == "__main__":
    unittest.main()
