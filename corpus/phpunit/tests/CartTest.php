<?php
// A purpose-written PHPUnit suite for the JUnit corpus (scripts/corpus.sh runs it with Debian's phpunit).
// A pass, a failure, an error, a skip, an incomplete test and a data provider with one failing data set.
use PHPUnit\Framework\TestCase;

final class CartTest extends TestCase
{
    public function testAddsAnItem(): void
    {
        $this->assertSame(2, 1 + 1);
    }

    public function testTotalIsWrongOnPurpose(): void
    {
        $this->assertSame(3, 1 + 1);
    }

    public function testThrows(): void
    {
        throw new RuntimeException('an error, not a failed assertion');
    }

    public function testSkipped(): void
    {
        $this->markTestSkipped('not on this platform');
    }

    public function testIncomplete(): void
    {
        $this->markTestIncomplete('written later');
    }

    public static function amounts(): array
    {
        return ['one' => [1], 'two' => [2], 'three' => [3]];
    }

    /** @dataProvider amounts */
    public function testAcceptsAmount(int $amount): void
    {
        $this->assertNotSame(2, $amount);
    }
}
