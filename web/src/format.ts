export function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function short(id: string): string {
  return id.length > 13 ? `${id.slice(0, 8)}…` : id;
}

export const STATUSES = ['PENDING', 'PLACED', 'PAID', 'SHIPPED', 'CANCELLED'] as const;
