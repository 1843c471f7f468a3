/*
 * registry.h - what the driver (dest.c) asks of the registry (registry.c)
 * beyond dest.h: the slots of template destinations under --max-open, and
 * the instances' life (closed, swept). The registry calls nothing in the
 * driver.
 */
#ifndef VKROUTE_REGISTRY_H
#define VKROUTE_REGISTRY_H

struct dest;

/* A line settled or an instance closed: some instance may be idle now. */
void	reg_settled(void);
/*
 * d is about to open: 0 when it may (a template instance takes its slot,
 * counted from the attempt), -1 when every slot holds work (d->wait_room
 * set: it waits until one is free or idle).
 */
int	reg_slot(struct dest *d);
/* Something settled since the last look found no slot: look again. */
int	reg_slot_maybe(void);
/* Free the evicted instances whose handler is gone (their counts kept). */
void	reg_sweep(void);
/* Input waited on the bound of template instances: forget idle ones. */
void	reg_trim(void);
/* As many template instances as the bound allows hold work: input waits. */
int	reg_full(void);

/* Work waits: queued lines, or lines the kind holds on their way. */
int	dest_has_work(struct dest *d);
/* Close d's connection (or file); a template instance gives back its slot. */
void	dest_close(struct dest *d);

#endif
