/** Prisma error codes the services turn into typed results. */
import { Prisma } from '../generated/prisma/client.ts';

/** A unique index refused the write (P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

/** An update's `where` matched no row (P2025): with a version in it, someone changed the row first. */
export function isRecordMissing(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025';
}
