<?php
use PHPUnit\Framework\TestCase;

final class OtherTest extends TestCase
{
    public function testAddsAnItem(): void
    {
        $this->assertTrue(true);
    }
}
